"""The DingTalk, Feishu and WeCom app parts of `ccerbot run`: their outbox channels, and their chats
when the chat core answers.

The chats take `answer(peer, text)` and `press(peer, data)`; here they are the chat core's
`answer_text(ctx, peer, text, now)` and `answer_button(ctx, peer, data, now)` (bot/chat/core.py). A build
without the core runs the channels only, and says so.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from bot.config import Settings
from bot.context import AppContext
from bot.dingtalk.api import DingTalkApi
from bot.feishu.api import FeishuApi
from bot.groups.routing import recipient_of
from bot.inbound import Answer, Press
from bot.net import proxy_url
from bot.sender.dingtalk import DingTalkChannel
from bot.sender.feishu import FeishuChannel
from bot.sender.loop import Channel
from bot.sender.wecom import WeComChannel
from bot.wecom.api import WeComApi

CORE = "bot.chat.core"
NAMES = {"dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}


def answering(ctx: AppContext) -> tuple[Answer, Press] | None:
    """The chat core's answers for `ctx`, at the instant each question arrives; None without the core."""
    try:
        core = importlib.import_module(CORE)
    except ImportError as error:
        if error.name != CORE:
            raise
        return None

    def answer(peer: Any, text: str) -> Any:
        return core.answer_text(ctx, peer, text, ctx.now())

    def press(peer: Any, data: str) -> Any:
        return core.answer_button(ctx, peer, data, ctx.now())

    return answer, press


def configured(settings: Settings) -> list[str]:
    """The platforms whose app is configured with its secret."""
    found = []
    if settings.dingtalk is not None and settings.dingtalk.client_secret is not None:
        found.append("dingtalk")
    if settings.feishu is not None and settings.feishu.app_secret is not None:
        found.append("feishu")
    if settings.wecom is not None and settings.wecom.secret is not None:
        found.append("wecom")
    return found


def platform_channels(
    settings: Settings, http: aiohttp.ClientSession, groups: Mapping[str, Channel]
) -> dict[str, Channel]:
    """A `dingtalk` and a `feishu` channel for each configured app: 1:1 messages to users, and that
    platform's group robots (items whose recipient names one) through `groups`."""
    channels: dict[str, Channel] = {}
    names = {
        kind: frozenset(recipient_of(i, g) for i, g in enumerate(settings.groups) if g.kind == kind)
        for kind in ("dingtalk", "feishu", "wecom")
    }
    if "dingtalk" in configured(settings):
        assert settings.dingtalk is not None
        api = DingTalkApi(settings.dingtalk, http)
        channels["dingtalk"] = DingTalkChannel(api, groups.get("dingtalk"), names["dingtalk"])
    if "feishu" in configured(settings):
        assert settings.feishu is not None
        feishu = FeishuApi(settings.feishu, http)
        channels["feishu"] = FeishuChannel(feishu, groups.get("feishu"), names["feishu"])
    if "wecom" in configured(settings):
        assert settings.wecom is not None
        wecom = WeComApi(settings.wecom, http)
        channels["wecom"] = WeComChannel(wecom, groups.get("wecom"), names["wecom"])
    return channels


def start_chats(
    ctx: AppContext,
    http: aiohttp.ClientSession,
    stop: asyncio.Event,
    announce: Callable[[str], None],
) -> list[asyncio.Task[None]]:
    """Start the chat of every configured platform; their tasks (none without the chat core)."""
    platforms = configured(ctx.settings)
    seam = answering(ctx) if platforms else None
    names = NAMES
    if seam is None:
        for platform in platforms:
            announce(f"未运行：{names[platform]}聊天（聊天核心不可用），只发送提醒")
        return []
    answer, press = seam
    tasks = []
    settings = ctx.settings
    if "dingtalk" in platforms:
        from bot.dingtalk.chat import DingTalkChat

        assert settings.dingtalk is not None
        dingtalk = DingTalkChat(
            DingTalkApi(settings.dingtalk, http),
            answer,
            press,
            proxy=proxy_url(settings),
        )
        tasks.append(asyncio.create_task(dingtalk.run(stop), name="dingtalk"))
        announce(f"运行：钉钉聊天（Stream 模式，{settings.dingtalk.openapi_url}）")
    if "feishu" in platforms:
        from bot.feishu.chat import FeishuChat

        assert settings.feishu is not None
        feishu = FeishuChat(FeishuApi(settings.feishu, http), answer, press)
        tasks.append(asyncio.create_task(feishu.run(stop), name="feishu"))
        announce(f"运行：飞书聊天（长连接，{settings.feishu.domain}）")
    if "wecom" in platforms:
        assert settings.wecom is not None
        if settings.wecom.token is None or settings.wecom.encoding_aes_key is None:
            announce(
                "未运行：企业微信聊天（未设置 CCERBOT_WECOM_TOKEN 或 CCERBOT_WECOM_AES_KEY），只发送提醒"
            )
            return tasks
        from bot.wecom.chat import WeComChat

        wecom = WeComChat(WeComApi(settings.wecom, http), answer, press)
        tasks.append(asyncio.create_task(wecom.run(stop), name="wecom"))
        where = f"{settings.wecom.listen}:{settings.wecom.port}{settings.wecom.path}"
        announce(f"运行：企业微信聊天（回调模式，监听 {where}）")
    return tasks
