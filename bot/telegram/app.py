"""The Telegram application: built from the configuration, every handler registered in one place."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.chat.commands import COMMANDS, MENU
from bot.config import ConfigError
from bot.context import AppContext
from bot.telegram import handlers
from bot.telegram.polling import ChatEnd, run_polling_until
from storage import access
from storage.engine import session_scope
from templates import label

__all__ = [
    "application_builder",
    "build_application",
    "register_handlers",
    "run_polling_until",
    "run_until",
    "run_webhook_until",
]

log = logging.getLogger("ccerbot.telegram")
MAX_CONCURRENT_UPDATES = 64


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates of different chats are answered concurrently; those of one chat, in the order sent."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.get(chat.id)
        if lock is None:
            lock = self._locks[chat.id] = asyncio.Lock()
        async with lock:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def file_url_for(base_url: str) -> str:
    """Telegram's file URL beside a Bot API URL: https://host/bot -> https://host/file/bot."""
    root = base_url.rstrip("/").removesuffix("/bot")
    return f"{root}/file/bot"


def application_builder(ctx: AppContext, *, rate_limit: bool = True) -> ApplicationBuilder:
    """The application's configuration without its handlers: the Bot API server, limits, concurrency."""
    config = ctx.settings.telegram
    if config is None or config.token is None:
        raise ConfigError(key="no_token")
    builder = (
        ApplicationBuilder()
        .token(config.token.get_secret_value())
        .base_url(config.base_url)
        .base_file_url(config.base_file_url or file_url_for(config.base_url))
        .concurrent_updates(ChatOrderedProcessor(MAX_CONCURRENT_UPDATES))
    )
    if ctx.settings.proxy:  # unset, httpx honours HTTPS_PROXY by itself
        builder = builder.proxy(ctx.settings.proxy).get_updates_proxy(ctx.settings.proxy)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    return builder


def build_application(
    ctx: AppContext, *, clock: Callable[[], datetime] | None = None, rate_limit: bool = True
) -> Application:
    """The bot for `ctx.settings.telegram`; `clock` gives the instant answers are computed at (default: now).

    Officers of [[officers]] are bound here, so that they are bound whenever the bot starts.
    """
    application = application_builder(ctx, rate_limit=rate_limit).post_init(set_commands).build()
    application.bot_data[handlers.CTX] = ctx
    application.bot_data[handlers.CLOCK] = clock or ctx.now
    bind_configured_officers(ctx, (clock or ctx.now)())
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:
    """A CommandHandler for every command of the table, then buttons, then words."""
    for command in COMMANDS:
        application.add_handler(CommandHandler(command.name, handlers.command_handler(command.name)))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(MessageHandler(filters.Document.ALL | filters.PHOTO, handlers.file_message))
    # Last: words such as 状态 or "status", and commands the bot does not know.
    application.add_handler(MessageHandler(filters.TEXT, handlers.plain_message))
    application.add_error_handler(handlers.on_error)


def bind_configured_officers(ctx: AppContext, now: datetime) -> None:
    """Officers named in [[officers]] are bound to their province whenever the bot starts."""
    if not ctx.settings.officers:
        return
    with session_scope(ctx.engine) as session:
        for officer in ctx.settings.officers:
            access.bind(
                session,
                handlers.peer_of(officer.telegram_id),
                "officer",
                now,
                province=officer.province.strip(),
            )


async def set_commands(application: Application) -> None:
    """The command menu Telegram shows, in Chinese and in English; a failure here stops nothing."""
    try:
        for lang, code in (("zh", None), ("en", "en")):
            commands = [BotCommand(c.name, label("chat_command", c.label_key, lang)) for c in MENU]
            await application.bot.set_my_commands(commands, language_code=code)
    except TelegramError as error:
        log.warning("could not set the command menu: %s", error)


def webhook_secret(token: str) -> str:
    """What Telegram sends back with every webhook call, so that calls from anyone else are refused."""
    return hashlib.sha256(f"ccerbot-webhook|{token}".encode()).hexdigest()[:48]


async def run_webhook_until(application: Application, stop: asyncio.Event) -> ChatEnd:
    """Receive updates by webhook (telegram.webhook_url) until `stop` is set."""
    ctx: AppContext = application.bot_data[handlers.CTX]
    config = ctx.settings.telegram
    assert config is not None and config.webhook_url and config.token is not None
    secret = webhook_secret(config.token.get_secret_value())
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_webhook(
            listen=config.webhook_listen,
            port=config.webhook_port,
            url_path=urlparse(config.webhook_url).path.lstrip("/"),
            webhook_url=config.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
        await application.start()
        try:
            await stop.wait()
        finally:
            await application.updater.stop()
            await application.stop()
    return "stopped"


async def run_until(application: Application, stop: asyncio.Event) -> ChatEnd:
    """Webhook when telegram.webhook_url is set, long polling otherwise."""
    ctx: AppContext = application.bot_data[handlers.CTX]
    config = ctx.settings.telegram
    if config is not None and config.webhook_url:
        return await run_webhook_until(application, stop)
    return await run_polling_until(application, stop)
