"""Driving the real Telegram application against the loopback Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine
from telegram.ext import Application

from bot.chat.reply import plain_text
from bot.config import OfficerConfig, Settings, TelegramConfig
from bot.context import AppContext
from bot.telegram.app import build_application
from bot.telegram.polling import run_polling_until
from tests.chat.data import NOW, SHANDONG
from tests.servers.botapi import BotApiServer, Call

REPLIES = ("sendMessage", "editMessageText", "sendDocument", "sendPhoto")
CONFIGURED_OFFICER = 1001


def context_for(engine: Engine, botapi: BotApiServer) -> AppContext:
    settings = Settings(
        cycle="2019-2020",
        database_url=engine.url.render_as_string(hide_password=False),
        telegram=TelegramConfig(
            base_url=botapi.base_url, base_file_url=botapi.base_file_url, token=SecretStr(botapi.token)
        ),
        officers=[OfficerConfig(telegram_id=CONFIGURED_OFFICER, province=SHANDONG)],
    )
    return AppContext(settings)


@asynccontextmanager
async def running(
    ctx: AppContext, clock: Callable[[], datetime] = lambda: NOW, **options: Any
) -> AsyncIterator[Application]:
    """The bot polling the server until the block ends; it must end as asked, not by a conflict."""
    application = build_application(ctx, clock=clock, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling_until(application, stop))
    while not application.running and not task.done():
        await asyncio.sleep(0.01)
    try:
        yield application
    finally:
        stop.set()
        assert await task == "stopped"


class Person:
    """Someone in a chat with the bot: says things, presses buttons, reads the answers."""

    def __init__(self, botapi: BotApiServer, chat_id: int) -> None:
        self.botapi = botapi
        self.chat_id = chat_id

    def _mine(self) -> list[Call]:
        return [c for c in self.botapi.sent if c.method in REPLIES and c.chat_id == self.chat_id]

    async def _wait(self, before: int, replies: int, timeout: float = 10.0) -> list[Call]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(mine := self._mine()) < before + replies:
            if loop.time() > deadline:
                raise TimeoutError(
                    f"chat {self.chat_id}: {len(mine) - before} of {replies} replies: {mine[before:]}"
                )
            await asyncio.sleep(0.01)
        return mine[before:]

    async def says(self, text: str, replies: int = 1) -> list[Call]:
        before = len(self._mine())
        self.botapi.push_message(self.chat_id, text)
        return await self._wait(before, replies)

    async def presses(self, data: str, message_id: int, replies: int = 1) -> list[Call]:
        before = len(self._mine())
        self.botapi.push_callback(self.chat_id, data, message_id)
        return await self._wait(before, replies)

    async def asks(self, text: str) -> Call:
        [reply] = await self.says(text)
        return reply


def buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.reply_markup or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


def shown(call: Call) -> str:
    """The text as the person reads it."""
    text = str(call.text or call.caption or "")
    return plain_text(text) if (call.parse_mode or "").upper() == "HTML" else text
