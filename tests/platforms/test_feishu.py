"""The Feishu chat over lark-oapi's long connection, and messages, against a loopback Feishu platform."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from pydantic import SecretStr

from bot.chat.peer import Peer
from bot.config import FeishuConfig
from bot.feishu.api import FeishuApi
from bot.feishu.chat import FeishuChat
from bot.sender.policy import PermanentError, RateLimited
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.helpers import Core, started, until


def config(server: FeishuPlatform, restart_after_s: float = 300.0) -> FeishuConfig:
    return FeishuConfig(
        app_id=server.app_id,
        app_secret=SecretStr(server.app_secret),
        domain=server.url,
        restart_after_s=restart_after_s,
    )


@asynccontextmanager
async def running(
    server: FeishuPlatform, core: Core, restart_after_s: float = 300.0
) -> AsyncIterator[FeishuChat]:
    async with aiohttp.ClientSession() as http:
        api = FeishuApi(config(server, restart_after_s), http)
        chat = FeishuChat(api, core.answer, core.press, check_s=0.1)
        ready = until(lambda: chat.connected and server.connections == 1)
        async with started(chat, ready, stop_timeout=30):
            yield chat


async def test_a_slow_answer_never_holds_the_ack_and_a_pushed_again_event_is_answered_once(
    feishu: FeishuPlatform,
) -> None:
    core = Core(gate=threading.Event())
    async with running(feishu, core):
        event_id = await asyncio.to_thread(feishu.say, "ou_emitter", "/status")
        await until(lambda: feishu.acks == [event_id])  # acked while the answer is still being made
        assert feishu.sent_of("message") == []
        await asyncio.to_thread(feishu.say, "ou_emitter", "/status", event_id)  # Feishu pushes again
        await until(lambda: len(feishu.acks) == 2)
        core.gate.set()  # type: ignore[union-attr]
        await until(lambda: len(feishu.sent_of("message")) == 1)
        await asyncio.sleep(0.2)  # a second answer would be sent now
    assert core.asked == [(Peer("feishu", "ou_emitter"), "/status")]
    assert "MainThread" not in core.threads
    [message] = feishu.sent_of("message")
    assert message["receive_id"] == "ou_emitter" and message["msg_type"] == "text"
    assert message["content"] == {"text": "收到 /status & OK"}


async def test_buttons_are_a_card_whose_callbacks_are_presses(feishu: FeishuPlatform) -> None:
    core = Core()
    async with running(feishu, core):
        await asyncio.to_thread(feishu.say, "ou_officer", "/menu")
        await until(lambda: len(feishu.sent_of("message")) == 1)
        [card] = feishu.sent_of("message")
        assert card["msg_type"] == "interactive"
        [action] = [e for e in card["content"]["elements"] if e["tag"] == "action"]
        value = action["actions"][1]["value"]
        await asyncio.to_thread(feishu.click, "ou_officer", value["data"])
        await until(lambda: len(feishu.sent_of("message")) == 2)
    assert core.pressed == [(Peer("feishu", "ou_officer"), "pending|")]
    assert feishu.sent_of("message")[1]["content"] == {"text": "按了 pending|"}


async def test_a_chart_and_an_export_are_uploaded_and_sent(feishu: FeishuPlatform) -> None:
    async with running(feishu, Core()):
        await asyncio.to_thread(feishu.say, "ou_officer", "/chart")
        await asyncio.to_thread(feishu.say, "ou_officer", "/export")
        await until(lambda: len(feishu.sent_of("message")) == 4)
    [image] = feishu.sent_of("image")
    [upload] = feishu.sent_of("file")
    assert image["filename"] == "chart.png"
    assert upload["file_type"] == "xls" and upload["file_name"] == "export.xlsx"
    kinds = {m["msg_type"]: m["content"] for m in feishu.sent_of("message")}
    assert kinds["image"] == {"image_key": image["image_key"]}
    assert kinds["file"] == {"file_key": upload["file_key"]}


async def test_a_dropped_connection_is_reconnected_by_the_sdk_and_nothing_is_lost_or_doubled(
    feishu: FeishuPlatform,
) -> None:
    core = Core()
    async with running(feishu, core) as chat:
        await asyncio.to_thread(feishu.say, "ou_emitter", "one")
        await until(lambda: len(feishu.sent_of("message")) == 1)
        await asyncio.to_thread(feishu.drop)
        await until(lambda: feishu.endpoints == 2 and feishu.connections == 1 and chat.connected)
        await asyncio.to_thread(feishu.say, "ou_emitter", "two")
        await until(lambda: len(feishu.sent_of("message")) == 2)
        assert chat.starts == 1  # the SDK's own reconnect did it
    assert [text for _, text in core.asked] == ["one", "two"]


async def test_a_reconnect_the_sdk_gave_up_on_is_restarted_by_the_health_check(
    feishu: FeishuPlatform,
) -> None:
    core = Core()
    async with running(feishu, core, restart_after_s=1.0) as chat:
        feishu.endpoint_failures = 1  # the SDK's reconnect task dies on this answer
        await asyncio.to_thread(feishu.drop)
        await until(lambda: chat.starts == 2 and chat.connected and feishu.connections == 1, timeout=30)
        await asyncio.to_thread(feishu.say, "ou_emitter", "after")
        await until(lambda: len(feishu.sent_of("message")) == 1)
    assert core.asked == [(Peer("feishu", "ou_emitter"), "after")]


async def test_messages_retry_once_with_a_fresh_token_and_map_refusals(feishu: FeishuPlatform) -> None:
    async with aiohttp.ClientSession() as http:
        api = FeishuApi(config(feishu), http)
        await api.send("ou_emitter", "text", {"text": "一"})
        feishu.revoke_tokens()
        await api.send("ou_emitter", "text", {"text": "二"})
        assert len(feishu.tokens) == 2
        feishu.throttle_next = 1
        with pytest.raises(RateLimited) as throttled:
            await api.send("ou_emitter", "text", {"text": "三"})
        assert throttled.value.retry_after == 1.0
        with pytest.raises(PermanentError):
            await api.send("ou_nobody", "text", {"text": "四"})
    assert [m["content"]["text"] for m in feishu.sent_of("message")] == ["一", "二"]


async def test_a_message_in_a_group_is_not_answered_there(feishu: FeishuPlatform) -> None:
    core = Core()
    async with running(feishu, core):
        await asyncio.to_thread(feishu.say, "ou_officer", "/overview", chat_type="group")
        await asyncio.to_thread(feishu.say, "ou_officer", "/status")
        await until(lambda: len(feishu.sent_of("message")) == 1)
    assert core.asked == [(Peer("feishu", "ou_officer"), "/status")]
