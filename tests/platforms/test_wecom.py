"""The WeCom app in callback mode: encrypted callbacks posted to ccerbot's endpoint, answers as app
messages through a loopback WeCom server API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from pydantic import SecretStr

from bot.chat.peer import Peer
from bot.config import WeComConfig
from bot.sender.policy import PermanentError, RateLimited
from bot.wecom.api import WeComApi
from bot.wecom.chat import WeComChat
from tests.platforms.helpers import Core, started, until
from tests.platforms.wecom_server import WeComServer
from tests.servers import free_port


def config(server: WeComServer, port: int = 0) -> WeComConfig:
    return WeComConfig(
        corp_id=server.corp_id,
        agent_id=server.agent_id,
        secret=SecretStr(server.secret),
        token=SecretStr(server.token),
        encoding_aes_key=SecretStr(server.aes_key),
        api_url=server.url,
        port=port or free_port(),
    )


@asynccontextmanager
async def running(server: WeComServer, core: Core) -> AsyncIterator[str]:
    settings = config(server)
    async with aiohttp.ClientSession() as http:
        chat = WeComChat(WeComApi(settings, http), core.answer, core.press)
        async with started(chat, asyncio.wait_for(chat.ready.wait(), 10)):
            yield f"http://127.0.0.1:{settings.port}{settings.path}"


async def test_the_callback_url_check_echoes_the_decrypted_echostr(wecom: WeComServer) -> None:
    async with running(wecom, Core()) as url:
        assert await wecom.verify_url(url) == (200, "echoed")


async def test_a_message_is_answered_once_as_an_app_message_and_a_forged_one_refused(
    wecom: WeComServer,
) -> None:
    core = Core()
    async with running(wecom, core) as url:
        assert await wecom.post_text(url, "zhangsan", "/status", "42") == 200
        assert await wecom.post_text(url, "zhangsan", "/status", "42") == 200  # WeCom posts again
        assert await wecom.post_text(url, "zhangsan", "伪造", sign=False) == 403
        await until(lambda: len(wecom.sent_of("message")) == 1)
        await asyncio.sleep(0.2)
    assert core.asked == [(Peer("wecom", "zhangsan"), "/status")]
    [message] = wecom.sent_of("message")
    assert message["touser"] == "zhangsan" and message["text"] == {"content": "收到 /status & OK"}


async def test_buttons_are_numbered_choices_and_a_chart_is_an_uploaded_image(wecom: WeComServer) -> None:
    core = Core()
    async with running(wecom, core) as url:
        await wecom.post_text(url, "lisi", "/menu")
        await until(lambda: len(wecom.sent_of("message")) == 1)
        await wecom.post_text(url, "lisi", "1")
        await wecom.post_text(url, "lisi", "/chart")
        await until(lambda: len(wecom.sent_of("message")) == 4)
    messages = wecom.sent_of("message")
    assert messages[0]["text"]["content"] == "请选择：\n\n1. 本省进度\n2. 待办"
    assert core.pressed == [(Peer("wecom", "lisi"), "overview|")]
    [upload] = wecom.sent_of("upload")
    assert upload["type"] == "image" and {"media_id": upload["media_id"]} in [
        m.get("image") for m in messages
    ]


async def test_app_messages_refresh_a_revoked_token_and_map_refusals(wecom: WeComServer) -> None:
    async with aiohttp.ClientSession() as http:
        api = WeComApi(config(wecom), http)
        await api.send("zhangsan", "text", {"content": "一"})
        wecom.revoke_tokens()
        await api.send("zhangsan", "text", {"content": "二"})
        assert len(wecom.tokens) == 2
        wecom.throttle_next = 1
        with pytest.raises(RateLimited):
            await api.send("zhangsan", "text", {"content": "三"})
        with pytest.raises(PermanentError):
            await api.send("wangwu", "text", {"content": "四"})
    assert [m["text"]["content"] for m in wecom.sent_of("message")] == ["一", "二"]
