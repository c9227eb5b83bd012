"""Long polling that stops, rather than fights, when another process polls the same token.

Telegram lets one getUpdates wait per token: a second poller makes it answer 409 Conflict. The library's
own polling loop retries forever (and calls getUpdates once more on its way out, which would cut the
other process's poll in its turn), so this loop is ours: on the first 409 it says so once and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, Literal

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

log = logging.getLogger("ccerbot.telegram")
ChatEnd = Literal["stopped", "conflict"]
POLL_TIMEOUT_S = 10
MAX_PAUSE_S = 30.0
CONFLICT_LOG = "另一个进程正在使用此令牌轮询（Telegram：%s）；本进程停止轮询 Telegram。"


async def run_polling_until(
    application: Application,
    stop: asyncio.Event,
    poll_timeout: int = POLL_TIMEOUT_S,
) -> ChatEnd:
    """Answer chats until `stop` is set ("stopped") or another process polls the token ("conflict")."""
    async with application:
        if application.post_init is not None:  # as Application.run_polling would
            await application.post_init(application)
        await application.start()
        try:
            return await poll(application, stop, poll_timeout)
        finally:
            await application.stop()


async def poll(application: Application, stop: asyncio.Event, poll_timeout: int) -> ChatEnd:
    bot: Bot = application.bot
    offset = 0
    pause = 0.0
    while not stop.is_set():
        fetched = await _until_stopped(
            bot.get_updates(offset=offset, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES), stop
        )
        if fetched is None:
            break
        try:
            updates = fetched.result()
        except Conflict as error:
            log.error(CONFLICT_LOG, error.message)
            return "conflict"
        except InvalidToken:
            raise
        except RetryAfter as error:
            pause = float(
                error.retry_after if isinstance(error.retry_after, int) else error.retry_after.total_seconds()
            )
        except TelegramError as error:
            pause = min(MAX_PAUSE_S, max(1.0, pause * 2))
            log.warning("getUpdates failed (%s): trying again in %.0f s", error, pause)
        else:
            pause = 0.0
            for update in updates:
                await application.update_queue.put(update)
                offset = update.update_id + 1
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
    await _confirm(bot, offset)
    return "stopped"


async def _until_stopped(
    call: Coroutine[Any, Any, tuple[Update, ...]], stop: asyncio.Event
) -> asyncio.Future[tuple[Update, ...]] | None:
    """The finished call, or None (the call cancelled) when `stop` is set first."""
    fetch = asyncio.ensure_future(call)
    halted = asyncio.ensure_future(stop.wait())
    await asyncio.wait({fetch, halted}, return_when=asyncio.FIRST_COMPLETED)
    halted.cancel()
    if fetch.done():
        return fetch
    fetch.cancel()
    with contextlib.suppress(asyncio.CancelledError, TelegramError):
        await fetch
    return None


async def _confirm(bot: Bot, offset: int) -> None:
    """Tell Telegram the updates handed to the application are taken, so a restart does not get them again."""
    if not offset:
        return
    try:
        await bot.get_updates(offset=offset, timeout=0, limit=1)
    except TelegramError as error:
        log.info("could not confirm the last updates (%s): a restart may answer them again", error)
