"""The DingTalk chat and 1:1 robot messages against a loopback DingTalk gateway and OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from pydantic import SecretStr

from bot.chat.peer import Peer
from bot.config import DingTalkConfig
from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.chat import DingTalkChat
from bot.sender.policy import PermanentError, RateLimited
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.helpers import Core, started, until


def config(server: DingTalkGateway) -> DingTalkConfig:
    return DingTalkConfig(
        client_id=server.client_id,
        client_secret=SecretStr(server.client_secret),
        openapi_url=server.url,
        oapi_url=server.url,
    )


@asynccontextmanager
async def running(server: DingTalkGateway, core: Core) -> AsyncIterator[DingTalkChat]:
    async with aiohttp.ClientSession() as http:
        chat = DingTalkChat(DingTalkApi(config(server), http), core.answer, core.press, first_retry_s=0.05)
        async with started(chat, asyncio.wait_for(chat.connected.wait(), 20)):
            yield chat


async def test_a_message_is_acked_answered_in_a_thread_and_replied_through_its_session_webhook(
    dingtalk: DingTalkGateway,
) -> None:
    core = Core()
    async with running(dingtalk, core):
        message_id = await asyncio.to_thread(dingtalk.push, "staff001", "/status")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 1)
    assert core.asked == [(Peer("dingtalk", "staff001"), "/status")]
    assert core.threads and "MainThread" not in core.threads
    assert dingtalk.acks == [f"frame-{message_id}"]
    [reply] = dingtalk.sent_of("webhook")
    assert reply["to"] == "staff001" and reply["msgtype"] == "markdown"
    assert reply["markdown"]["text"] == "**收到** /status & OK"


async def test_buttons_are_numbered_choices_and_a_number_presses_one(dingtalk: DingTalkGateway) -> None:
    core = Core()
    async with running(dingtalk, core):
        await asyncio.to_thread(dingtalk.push, "staff001", "/menu")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 1)
        await asyncio.to_thread(dingtalk.push, "staff001", "2")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 2)
    menu = dingtalk.sent_of("webhook")[0]["markdown"]["text"]
    assert "[1. 本省进度](dtmd://dingtalkclient/sendMessage?content=1)" in menu
    assert core.pressed == [(Peer("dingtalk", "staff001"), "pending|")]


async def test_a_chart_and_an_export_are_uploaded_to_the_configured_host_and_sent_one_to_one(
    dingtalk: DingTalkGateway,
) -> None:
    core = Core()
    async with running(dingtalk, core):
        await asyncio.to_thread(dingtalk.push, "officer01", "/chart")
        await asyncio.to_thread(dingtalk.push, "officer01", "/export")
        await until(lambda: len(dingtalk.sent_of("batch")) == 2)
    uploads = {u["type"]: u for u in dingtalk.sent_of("upload")}
    assert uploads["image"]["filename"] == "chart.png" and uploads["file"]["filename"] == "export.xlsx"
    sent = {b["msgKey"]: b for b in dingtalk.sent_of("batch")}
    assert sent["sampleImageMsg"]["msgParam"] == {"photoURL": uploads["image"]["media_id"]}
    assert sent["sampleFile"]["msgParam"]["mediaId"] == uploads["file"]["media_id"]
    assert sent["sampleFile"]["msgParam"]["fileType"] == "xlsx"
    assert all(b["userIds"] == ["officer01"] for b in sent.values())


async def test_a_failed_reply_is_retried_once(dingtalk: DingTalkGateway) -> None:
    dingtalk.webhook_failures = 1
    async with running(dingtalk, Core()):
        await asyncio.to_thread(dingtalk.push, "staff001", "你好")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 1)
    assert dingtalk.webhook_failures == 0


async def test_a_dropped_connection_reconnects_and_nothing_is_lost_or_doubled(
    dingtalk: DingTalkGateway,
) -> None:
    core = Core()
    async with running(dingtalk, core) as chat:
        await asyncio.to_thread(dingtalk.push, "staff001", "first")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 1)
        # answered, but its ack is lost with the connection: the gateway pushes it again
        dingtalk.lose_acks = True
        await asyncio.to_thread(dingtalk.push, "staff002", "second")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 2)
        await asyncio.to_thread(dingtalk.drop)
        dingtalk.lose_acks = False
        await asyncio.to_thread(dingtalk.wait_connections, 2)
        await until(lambda: chat.connections == 2)
        await asyncio.to_thread(dingtalk.push, "staff001", "third")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 3)
        await asyncio.sleep(0.2)  # a doubled answer would arrive now
    assert dingtalk.pushed == 4  # "second" twice
    assert sorted(text for _, text in core.asked) == ["first", "second", "third"]
    assert len(dingtalk.sent_of("webhook")) == 3


async def test_one_to_one_messages_refresh_a_revoked_token_and_map_refusals(
    dingtalk: DingTalkGateway,
) -> None:
    async with aiohttp.ClientSession() as http:
        api = DingTalkApi(config(dingtalk), http)
        await api.send_to_users(["staff001"], "sampleText", {"content": "一"})
        dingtalk.revoke_tokens()
        await api.send_to_users(["staff001"], "sampleText", {"content": "二"})
        assert len(dingtalk.tokens) == 2  # cached once, fetched again after the revocation
        dingtalk.throttle_next = 1
        with pytest.raises(RateLimited):
            await api.send_to_users(["staff001"], "sampleText", {"content": "三"})
        with pytest.raises(PermanentError):
            await api.send_to_users(["nobody"], "sampleText", {"content": "四"})
    assert [b["msgParam"]["content"] for b in dingtalk.sent_of("batch")] == ["一", "二"]


async def test_an_expired_token_is_fetched_again(dingtalk: DingTalkGateway) -> None:
    dingtalk.token_lifetime_s = 60  # within the minute kept in hand: expired as soon as it is cached
    async with aiohttp.ClientSession() as http:
        api = DingTalkApi(config(dingtalk), http)
        await api.send_to_users(["staff001"], "sampleText", {"content": "一"})
        await api.send_to_users(["staff001"], "sampleText", {"content": "二"})
    assert len(dingtalk.tokens) == 2


async def test_a_message_in_a_group_is_not_answered_there(dingtalk: DingTalkGateway) -> None:
    core = Core()
    async with running(dingtalk, core):
        await asyncio.to_thread(dingtalk.push, "officer01", "/overview", group=True)
        await asyncio.to_thread(dingtalk.push, "officer01", "/status")
        await until(lambda: len(dingtalk.sent_of("webhook")) == 1)
    assert core.asked == [(Peer("dingtalk", "officer01"), "/status")]
