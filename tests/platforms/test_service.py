"""`ccerbot run` with [dingtalk] and [feishu]: it says which chats and channels it runs."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from pydantic import SecretStr

from bot.config import DingTalkConfig, FeishuConfig, WeComConfig
from bot.context import AppContext
from bot.service import serve
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.wecom_server import WeComServer
from tests.reminders.helpers import GUARD_S, settings


async def test_run_says_which_platforms_it_runs(
    tmp_path: Path, dingtalk: DingTalkGateway, feishu: FeishuPlatform, wecom: WeComServer
) -> None:
    configured = settings(f"sqlite:///{tmp_path / 'run.db'}").model_copy(
        update={
            "dingtalk": DingTalkConfig(
                client_id=dingtalk.client_id,
                client_secret=SecretStr(dingtalk.client_secret),
                openapi_url=dingtalk.url,
            ),
            "feishu": FeishuConfig(
                app_id=feishu.app_id, app_secret=SecretStr(feishu.app_secret), domain=feishu.url
            ),
            "wecom": WeComConfig(corp_id=wecom.corp_id, agent_id=wecom.agent_id, secret=SecretStr("s")),
            "proxy": "http://user:password@proxy.example:3128",
        }
    )
    ctx = AppContext(configured)
    said: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ctx, stop, said.append))
    await asyncio.sleep(0.1)
    stop.set()
    service = await asyncio.wait_for(task, GUARD_S)
    assert "运行：钉钉应用发件（单聊消息，按平台限速）" in said
    assert "运行：飞书应用发件（单聊消息，按平台限速）" in said
    assert "运行：出站 HTTP 经代理 proxy.example:3128" in said and not any(
        "password" in line for line in said
    )
    assert "运行：企业微信应用发件（单聊消息，按平台限速）" in said
    assert service.sender is not None and {"dingtalk_chat", "feishu_chat", "wecom_chat"} <= set(
        service.sender.channels
    )
    if importlib.util.find_spec("bot.chat.core") is None:
        assert "未运行：钉钉聊天（聊天核心不可用），只发送提醒" in said
        assert "未运行：飞书聊天（聊天核心不可用），只发送提醒" in said
        assert "未运行：企业微信聊天（聊天核心不可用），只发送提醒" in said
    else:
        assert any(line.startswith("运行：钉钉聊天") for line in said)
        assert any(line.startswith("运行：飞书聊天") for line in said)
