"""Telegram handlers: one a command, each a thin adapter from an update to a view and back.

Views are answered by bot.telegram.views; the reply goes back through send.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.telegram import keyboards
from bot.telegram.send import edit_reply, send_reply
from bot.telegram.views import identify, needs_a_thread, read_text, respond
from templates import render

log = logging.getLogger(__name__)
CTX = "ctx"  # bot_data key: the AppContext
CLOCK = "clock"  # bot_data key: a function giving the instant to answer at
Context = ContextTypes.DEFAULT_TYPE


async def reply_for(bot_data: dict[str, Any], chat_id: int, command: str, args: tuple[str, ...]) -> Reply:
    """The view's reply: in place when it reads a few rows (well under a millisecond, less than handing it
    to a thread costs under load), in a worker thread when it may take long."""
    ctx = bot_data[CTX]
    clock: Callable[[], datetime] = bot_data[CLOCK]
    who, lang = identify(ctx.engine, chat_id)
    mail = ctx.settings.smtp is not None  # without SMTP no binding code can be mailed
    if needs_a_thread(command, who):
        return await asyncio.to_thread(
            respond, ctx.engine, ctx.cycle, chat_id, command, args, clock(), who, lang, mail
        )
    return respond(ctx.engine, ctx.cycle, chat_id, command, args, clock(), who, lang, mail)


async def answer(update: Update, context: Context, command: str, args: tuple[str, ...] | None = None) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    given = tuple(context.args or ()) if args is None else args
    reply = await reply_for(context.bot_data, chat.id, command, given)
    await send_reply(context.bot, chat.id, reply)


async def start(update: Update, context: Context) -> None:
    await answer(update, context, "start")


async def help_command(update: Update, context: Context) -> None:
    await answer(update, context, "help")


async def bind(update: Update, context: Context) -> None:
    await answer(update, context, "bind")


async def unbind(update: Update, context: Context) -> None:
    await answer(update, context, "unbind")


async def lang(update: Update, context: Context) -> None:
    await answer(update, context, "lang")


async def status(update: Update, context: Context) -> None:
    await answer(update, context, "status")


async def deadlines(update: Update, context: Context) -> None:
    await answer(update, context, "deadlines")


async def overview(update: Update, context: Context) -> None:
    await answer(update, context, "overview")


async def pending(update: Update, context: Context) -> None:
    await answer(update, context, "pending")


async def unit(update: Update, context: Context) -> None:
    await answer(update, context, "unit")


async def anomalies(update: Update, context: Context) -> None:
    await answer(update, context, "anomalies")


async def unmatched(update: Update, context: Context) -> None:
    await answer(update, context, "unmatched")


async def quarantine(update: Update, context: Context) -> None:
    await answer(update, context, "quarantine")


async def export(update: Update, context: Context) -> None:
    await answer(update, context, "export")


async def chart(update: Update, context: Context) -> None:
    await answer(update, context, "chart")


async def national(update: Update, context: Context) -> None:
    await answer(update, context, "national")


async def contacts(update: Update, context: Context) -> None:
    await answer(update, context, "contacts")


async def plain_message(update: Update, context: Context) -> None:
    """Words instead of a command ("状态", "进度", "status"), or a command the bot does not know."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command, args = read_text(message.text)
    await answer(update, context, command, args)


async def button(update: Update, context: Context) -> None:
    """A press on an inline button: answered by the view its callback data names, in place."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    command, args = keyboards.parse(query.data or "")
    reply = await reply_for(context.bot_data, chat.id, command, args)
    await edit_reply(query, reply)


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
