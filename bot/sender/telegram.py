"""Delivery to Telegram chats through python-telegram-bot, its errors mapped onto the retry policy.

Telegram's limits: 30 messages a second overall and 20 a minute per group, which PTB's AIORateLimiter
enforces (built here with retries on, its default being none); and about one message a second per chat,
which the AIORateLimiter does not know about and ChatPacer keeps.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import warnings
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.config import TelegramConfig
from bot.sender.policy import (
    DeliveryError,
    DeliveryTimeout,
    FormatError,
    PermanentError,
    RateLimited,
    RecipientBlocked,
    TemporaryError,
)
from storage.models import OutboxItem

MESSAGES_PER_SECOND = 30.0
# Requests paced exactly at a server's limit reach it unevenly (scheduling, connections), and one 429
# stops every request for retry_after: aiming a little below the limit is faster overall.
SAFETY_MARGIN = 0.98
PACING_WINDOW_S = 0.1
RATE_LIMIT_RETRIES = 3  # in-place retries on 429 before the outbox's own back-off takes over
# Only the tags Telegram's HTML knows: a plain-text body may hold "<address@example.cn>" and keep it.
_TAG = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|a|code|pre|span|tg-spoiler|tg-emoji|blockquote)(?:\s[^<>]*)?>",
    re.IGNORECASE,
)


def rate_limiter(
    per_second: float = MESSAGES_PER_SECOND * SAFETY_MARGIN, retries: int = RATE_LIMIT_RETRIES
) -> AIORateLimiter:
    """The limiter every bot of ours uses, for handler replies and the sender alike.

    It allows the rate over a tenth of a second rather than a whole one: after a pause of the event loop
    it then sends a few requests at once, not a whole second's worth on top of those already under way.
    """
    return AIORateLimiter(
        overall_max_rate=per_second * PACING_WINDOW_S,
        overall_time_period=PACING_WINDOW_S,
        max_retries=retries,
    )


def build_bot(
    config: TelegramConfig, limiter: BaseRateLimiter[int] | None = None, proxy: str | None = None
) -> ExtBot[int]:
    """The sender's own bot: its own connections, and `limiter` shared with the chat's bot when one runs,
    so that replies and reminders together keep to one limit. `proxy` unset: httpx reads HTTPS_PROXY."""
    if config.token is None:
        raise ValueError("no Telegram token")
    root = config.base_url.rstrip("/").removesuffix("/bot")
    return ExtBot(
        config.token.get_secret_value(),
        base_url=config.base_url,
        base_file_url=config.base_file_url or f"{root}/file/bot",
        request=HTTPXRequest(connection_pool_size=64, read_timeout=10.0, pool_timeout=30.0, proxy=proxy),
        rate_limiter=limiter or rate_limiter(),
    )


def plain_text(body: str) -> str:
    """The same message without its HTML formatting."""
    return html.unescape(_TAG.sub("", body))


class ChatPacer:
    """At most one message per `interval` seconds to any one chat."""

    def __init__(self, interval: float = 1.0) -> None:
        self._interval = interval
        self._locks: dict[int, asyncio.Lock] = {}
        self._last: dict[int, float] = {}

    async def wait_turn(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        await lock.acquire()
        try:
            pause = self._last.get(chat_id, float("-inf")) + self._interval - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
        except BaseException:
            lock.release()
            raise
        return lock

    def done(self, chat_id: int, lock: asyncio.Lock) -> None:
        self._last[chat_id] = time.monotonic()
        lock.release()
        if not lock.locked() and len(self._last) > 4096:
            self._forget_idle()

    def _forget_idle(self) -> None:
        horizon = time.monotonic() - self._interval
        for chat_id in [c for c, at in self._last.items() if at < horizon]:
            lock = self._locks.get(chat_id)
            if lock is None or not lock.locked():
                self._locks.pop(chat_id, None)
                self._last.pop(chat_id, None)


class TelegramChannel:
    name = "telegram"

    def __init__(self, bot: Bot, per_chat_interval: float = 1.0) -> None:
        self._bot = bot
        self._pacer = ChatPacer(per_chat_interval)

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        chat_id = int(item.recipient)
        lock = await self._pacer.wait_turn(chat_id)
        try:
            await self._bot.send_message(
                chat_id=chat_id,
                text=plain_text(item.body) if plain else item.body,
                parse_mode=None if plain else ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramError as error:
            raise translate(error) from error
        finally:
            self._pacer.done(chat_id, lock)


def translate(error: TelegramError) -> DeliveryError:
    """PTB's errors in the policy's terms (order matters: BadRequest and TimedOut are NetworkErrors)."""
    message = str(error)
    if isinstance(error, RetryAfter):
        return RateLimited(message, retry_after=_seconds(error))
    if isinstance(error, Forbidden):
        return RecipientBlocked(message)
    if isinstance(error, BadRequest):
        if "can't parse entities" in message.lower():
            return FormatError(message)
        return PermanentError(message)
    if isinstance(error, ChatMigrated):
        return PermanentError(f"{message} (chat now {error.new_chat_id})")
    if isinstance(error, TimedOut):
        return DeliveryTimeout(message)
    # 5xx, 502 pages, refused connections, and a wrong token (a configuration to fix, not a lost message)
    return TemporaryError(message)


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
