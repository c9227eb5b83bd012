"""The chat core answering through DingTalk and Feishu on their loopback servers: an emitter binds and
asks its status; an officer binds and gets /overview, an xlsx and a chart; neither sees another province."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.chats import answering
from bot.config import DingTalkConfig, FeishuConfig, Settings
from bot.context import AppContext
from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.chat import DingTalkChat
from bot.feishu.api import FeishuApi
from bot.feishu.chat import FeishuChat
from storage import access
from storage.engine import session_scope
from tests.chat.data import CAST, SHANDONG, populate
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.helpers import eventually, started, until


def _context(engine: Engine, **platform: Any) -> tuple[AppContext, str, str]:
    populate(engine)
    url = engine.url.render_as_string(hide_password=False)
    ctx = AppContext(Settings(cycle="2019-2020", database_url=url, **platform))
    with session_scope(engine) as session:
        emitter = access.new_code(session, role="emitter", unit_code=CAST.applied, now=ctx.now())
        officer = access.new_code(session, role="officer", province=SHANDONG, now=ctx.now())
    return ctx, emitter, officer


async def _conversation(
    say: Callable[[str, str], None], replies: Callable[[], int], emitter: str, officer: str
) -> None:
    async def ask(who: str, text: str, expect: int) -> None:
        await asyncio.to_thread(say, who, text)
        await asyncio.to_thread(eventually, lambda: replies() >= expect, 60.0)

    await ask("emitter", f"/bind {emitter}", 1)
    await ask("emitter", "/status", 2)
    await ask("officer", f"/bind {officer}", 3)
    await ask("officer", "/overview", 4)
    await ask("officer", f"/unit {CAST.canton}", 5)  # 广东's unit: not this officer's


async def test_through_dingtalk(sqlite_engine: Engine, dingtalk: DingTalkGateway) -> None:
    users = {"emitter": "staff001", "officer": "officer01"}
    config = DingTalkConfig(
        client_id=dingtalk.client_id,
        client_secret=SecretStr(dingtalk.client_secret),
        openapi_url=dingtalk.url,
        oapi_url=dingtalk.url,
    )
    ctx, emitter, officer = _context(sqlite_engine, dingtalk=config)
    seam = answering(ctx)
    assert seam is not None
    async with aiohttp.ClientSession() as http:
        chat = DingTalkChat(DingTalkApi(config, http), *seam, first_retry_s=0.05)
        async with started(chat, asyncio.wait_for(chat.connected.wait(), 20), stop_timeout=30):
            await _conversation(
                lambda who, text: dingtalk.push(users[who], text),
                lambda: len(dingtalk.sent_of("webhook")),
                emitter,
                officer,
            )
            await asyncio.to_thread(dingtalk.push, "officer01", "/export")
            await asyncio.to_thread(dingtalk.push, "officer01", "/chart")
            await until(lambda: len(dingtalk.sent_of("upload")) == 2, 60.0)
            await until(lambda: len(dingtalk.sent_of("batch")) == 2, 60.0)
    texts = [r["markdown"]["text"] for r in dingtalk.sent_of("webhook")]
    assert "华能济宁电厂" in texts[1]
    assert SHANDONG in texts[3] and "广州珠江电厂" not in "".join(texts)
    assert sorted(u["filename"].rsplit(".", 1)[1] for u in dingtalk.sent_of("upload")) == ["png", "xlsx"]
    assert all(b["userIds"] == ["officer01"] for b in dingtalk.sent_of("batch"))


async def test_through_feishu(sqlite_engine: Engine, feishu: FeishuPlatform) -> None:
    users = {"emitter": "ou_emitter", "officer": "ou_officer"}
    config = FeishuConfig(app_id=feishu.app_id, app_secret=SecretStr(feishu.app_secret), domain=feishu.url)
    ctx, emitter, officer = _context(sqlite_engine, feishu=config)
    seam = answering(ctx)
    assert seam is not None
    async with aiohttp.ClientSession() as http:
        chat = FeishuChat(FeishuApi(config, http), *seam, check_s=0.1)
        async with started(chat, until(lambda: chat.connected), stop_timeout=30):
            sent = lambda: len(feishu.sent_of("message"))  # noqa: E731
            await _conversation(lambda who, text: feishu.say(users[who], text), sent, emitter, officer)
            await asyncio.to_thread(feishu.say, "ou_officer", "/export")
            await asyncio.to_thread(feishu.say, "ou_officer", "/chart")
            await until(lambda: len(feishu.sent_of("file")) == 1 and len(feishu.sent_of("image")) == 1, 60.0)
            await until(lambda: {"file", "image"} <= {m["msg_type"] for m in feishu.sent_of("message")}, 60.0)
    messages = feishu.sent_of("message")
    texts = [str(m["content"]) for m in messages]
    assert any(
        "华能济宁电厂" in t for t in texts if "ou_emitter" in str(messages[texts.index(t)]["receive_id"])
    )
    assert any(SHANDONG in t for t in texts) and "广州珠江电厂" not in "".join(texts)
    assert feishu.sent_of("file")[0]["file_name"].endswith(".xlsx")
