"""Updates by webhook, when telegram.webhook_url is set (needs python-telegram-bot's webhooks extra)."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.config import Settings, TelegramConfig
from bot.context import AppContext
from bot.telegram.app import build_application, run_until, webhook_secret
from tests.chat.data import NOW, Cast
from tests.chat.harness import shown
from tests.servers import free_port
from tests.servers.botapi import BotApiServer

pytest.importorskip("tornado", reason="webhooks need python-telegram-bot[webhooks]")
aiohttp = pytest.importorskip("aiohttp")


async def test_updates_arrive_by_webhook(sqlite_engine: Engine, story: Cast, botapi: BotApiServer) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    telegram = TelegramConfig(
        base_url=botapi.base_url,
        base_file_url=botapi.base_file_url,
        token=SecretStr(botapi.token),
        webhook_url=url,
        webhook_port=port,
    )
    ctx = AppContext(
        Settings(
            cycle="2019-2020",
            database_url=sqlite_engine.url.render_as_string(hide_password=False),
            telegram=telegram,
        )
    )
    application = build_application(ctx, clock=lambda: NOW)
    stop = asyncio.Event()
    task = asyncio.create_task(run_until(application, stop))
    while not application.running:
        await asyncio.sleep(0.01)
    [hook] = [c for c in botapi.calls if c.method == "setWebhook"]
    assert hook.params["url"] == url and hook.params["secret_token"] == webhook_secret(botapi.token)
    update = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "date": 0,
            "text": "/start",
            "chat": {"id": 601, "type": "private"},
            "from": {"id": 601, "is_bot": False, "first_name": "T"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with aiohttp.ClientSession() as session:
        forged = await session.post(
            url, data=json.dumps(update), headers={"Content-Type": "application/json"}
        )
        genuine = await session.post(
            url,
            data=json.dumps(update),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": webhook_secret(botapi.token),
            },
        )
    assert forged.status == 403 and genuine.status == 200
    [reply] = await botapi.wait_sent(1, method="sendMessage")
    stop.set()
    assert await task == "stopped"
    assert "/bind" in shown(reply)
