"""Telegram handlers: thin adapters from an update to the chat core and back.

Every command of bot.chat.commands gets the one handler `command_handler` makes; the answer comes from
bot.chat.core and goes back through send.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram import Document, PhotoSize, Update
from telegram.ext import ContextTypes

from bot.chat import core
from bot.chat.files import MAX_FILE_BYTES, Unfetched
from bot.chat.reply import Reply
from bot.context import AppContext
from bot.telegram.send import edit_reply, send_reply
from storage.peer import Peer
from templates import render

log = logging.getLogger(__name__)
CTX = "ctx"  # bot_data key: the AppContext
CLOCK = "clock"  # bot_data key: a function giving the instant to answer at
Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def peer_of(chat_id: int) -> Peer:
    return Peer("telegram", str(chat_id))


async def reply_for(bot_data: dict[str, Any], asked: core.Asked) -> Reply:
    """The answer: in place when it reads a few rows (well under a millisecond, less than handing it to a
    thread costs under load), in a worker thread when it may take long."""
    ctx: AppContext = bot_data[CTX]
    clock: Callable[[], datetime] = bot_data[CLOCK]
    if asked.slow:
        return await asyncio.to_thread(core.answer, ctx, asked, clock())
    return core.answer(ctx, asked, clock())


def command_handler(name: str) -> Handler:
    """The handler of /name: the command's words, as typed, to the core."""

    async def handle(update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        text = " ".join([f"/{name}", *(context.args or ())])
        asked = core.read_text(context.bot_data[CTX], peer_of(chat.id), text)
        await send_reply(context.bot, chat.id, await reply_for(context.bot_data, asked))

    handle.__name__ = handle.__qualname__ = f"on_{name}"
    return handle


async def plain_message(update: Update, context: Context) -> None:
    """Words instead of a command ("状态", "进度", "status"), or a command the bot does not know."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or not message.text or chat is None:
        return
    asked = core.read_text(context.bot_data[CTX], peer_of(chat.id), message.text)
    await send_reply(context.bot, chat.id, await reply_for(context.bot_data, asked))


async def file_message(update: Update, context: Context) -> None:
    """A document or a photo: its bytes to the chat core (a bound emitter's stamped screenshot)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    sent: Document | PhotoSize
    if message.document is not None:
        sent, name = message.document, message.document.file_name
        content_type = message.document.mime_type or "application/octet-stream"
    elif message.photo:
        sent, name, content_type = message.photo[-1], None, "image/jpeg"  # the largest size Telegram made
    else:
        return
    unfetched: Unfetched | None = None
    if sent.file_size is not None and sent.file_size > MAX_FILE_BYTES:
        data, unfetched = b"", "too_large"  # more than the Bot API lets a bot download
    else:
        data = bytes(await (await sent.get_file()).download_as_bytearray())
    ctx: AppContext = context.bot_data[CTX]
    clock: Callable[[], datetime] = context.bot_data[CLOCK]
    reply = await asyncio.to_thread(
        core.answer_file, ctx, peer_of(chat.id), name, content_type, data, clock(), None, unfetched
    )
    await send_reply(context.bot, chat.id, reply)


async def button(update: Update, context: Context) -> None:
    """A press on an inline button: answered by the view its callback data names, in place."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    asked = core.read_button(context.bot_data[CTX], peer_of(chat.id), query.data or "")
    await edit_reply(query, await reply_for(context.bot_data, asked))


async def on_error(update: object, context: Context) -> None:
    """Log it, and tell the person something went wrong rather than leave them waiting."""
    log.error("error while answering %r", update, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        text = render("chat_error", "zh", html_mode=True)
        await context.bot.send_message(update.effective_chat.id, text, parse_mode="HTML")
    except Exception:  # the error handler must never raise in its turn
        log.exception("could not tell the chat about the error")
