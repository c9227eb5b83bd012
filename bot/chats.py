"""The DingTalk, Feishu and WeCom app parts of `ccerbot run`: their outbox channels, and their chats
when the chat core answers.

The chats take `answer(peer, text)` and `press(peer, data)`; here they are the chat core's
`answer_text(ctx, peer, text, now)` and `answer_button(ctx, peer, data, now)` (bot/chat/core.py). They take
`hand_in(peer, file)` too, the chat core's `answer_file`: a file (WeCom: an image) sent in chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.chat import core
from bot.config import Settings
from bot.context import AppContext
from bot.dingtalk.api import DingTalkApi
from bot.feishu.api import FeishuApi
from bot.inbound import Answer, HandIn, Press, SentFile
from bot.net import proxy_url
from bot.sender.dingtalk import DingTalkChannel
from bot.sender.feishu import FeishuChannel
from bot.sender.loop import Channel
from bot.sender.wecom import WeComChannel
from bot.wecom.api import WeComApi

NAMES = {"dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}


def answering(ctx: AppContext) -> tuple[Answer, Press]:
    """The chat core's answers for `ctx`, at the instant each question arrives."""

    def answer(peer: Any, text: str) -> Any:
        return core.answer_text(ctx, peer, text, ctx.now())

    def press(peer: Any, data: str) -> Any:
        return core.answer_button(ctx, peer, data, ctx.now())

    return answer, press


def handing_in(ctx: AppContext) -> HandIn:
    """The chat core's answer to a file sent in chat (its bytes, or why the chat has none)."""

    def hand_in(peer: Any, sent: SentFile) -> Any:
        return core.answer_file(
            ctx, peer, sent.filename, sent.content_type, sent.data, ctx.now(), unfetched=sent.unfetched
        )

    return hand_in


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


def platform_channels(settings: Settings, http: aiohttp.ClientSession) -> dict[str, Channel]:
    """A channel for each configured app's 1:1 messages (`dingtalk_chat`, `feishu_chat`, `wecom_chat`);
    the platforms' group robots have channels of their own (bot/sender/groups.py)."""
    channels: dict[str, Channel] = {}
    if "dingtalk" in configured(settings):
        assert settings.dingtalk is not None
        channels["dingtalk_chat"] = DingTalkChannel(DingTalkApi(settings.dingtalk, http))
    if "feishu" in configured(settings):
        assert settings.feishu is not None
        channels["feishu_chat"] = FeishuChannel(FeishuApi(settings.feishu, http))
    if "wecom" in configured(settings):
        assert settings.wecom is not None
        channels["wecom_chat"] = WeComChannel(WeComApi(settings.wecom, http))
    return channels


def start_chats(
    ctx: AppContext,
    http: aiohttp.ClientSession,
    stop: asyncio.Event,
    announce: Callable[[str], None],
) -> list[asyncio.Task[None]]:
    """Start the chat of every configured platform; their tasks (none without the chat core)."""
    platforms = configured(ctx.settings)
    answer, press = answering(ctx)
    tasks = []
    settings = ctx.settings
    if "dingtalk" in platforms:
        from bot.dingtalk.chat import DingTalkChat

        assert settings.dingtalk is not None
        dingtalk = DingTalkChat(
            DingTalkApi(settings.dingtalk, http),
            answer,
            press,
            handing_in(ctx),
            proxy=proxy_url(settings),
        )
        tasks.append(asyncio.create_task(dingtalk.run(stop), name="dingtalk"))
        announce(f"运行：钉钉聊天（Stream 模式，{settings.dingtalk.openapi_url}）")
    if "feishu" in platforms:
        from bot.feishu.chat import FeishuChat

        assert settings.feishu is not None
        feishu = FeishuChat(FeishuApi(settings.feishu, http), answer, press, handing_in(ctx))
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

        wecom = WeComChat(WeComApi(settings.wecom, http), answer, press, handing_in(ctx))
        tasks.append(asyncio.create_task(wecom.run(stop), name="wecom"))
        where = f"{settings.wecom.listen}:{settings.wecom.port}{settings.wecom.path}"
        announce(f"运行：企业微信聊天（回调模式，监听 {where}）")
    return tasks
