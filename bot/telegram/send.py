"""Putting a Reply into a Telegram chat: HTML with a plain-text fallback, long texts in several messages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest

from bot.chat.base import Keyboard
from bot.chat.reply import Reply, plain_text, split_text

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in keyboard]
    )


async def with_fallback(send: Callable[[str, str | None], Awaitable[Message | bool]], text: str) -> None:
    """Send as HTML; if Telegram cannot parse it, send the same words as plain text rather than lose them."""
    try:
        await send(text, ParseMode.HTML)
    except BadRequest as error:
        if "can't parse entities" not in error.message.lower():
            raise
        log.warning("formatting refused (%s): sent as plain text", error.message)
        await send(plain_text(text), None)


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> None:
    keys = markup(reply.keyboard)
    if reply.attachment is not None:
        await _send_attachment(bot, chat_id, reply, keys)
        return
    chunks = split_text(reply.text)
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1

        async def message(text: str, mode: str | None, last: bool = last) -> Message:
            return await bot.send_message(
                chat_id,
                text,
                parse_mode=mode,
                reply_markup=keys if last else None,
                link_preview_options=NO_PREVIEW,
            )

        await with_fallback(message, chunk)


async def _send_attachment(bot: Bot, chat_id: int, reply: Reply, keys: InlineKeyboardMarkup | None) -> None:
    attachment = reply.attachment
    assert attachment is not None
    fits = len(plain_text(reply.text)) <= MessageLimit.CAPTION_LENGTH
    kind = bot.send_photo if attachment.kind == "photo" else bot.send_document

    async def upload(caption: str, mode: str | None) -> Message:
        return await kind(
            chat_id,
            attachment.data,
            filename=attachment.filename,
            caption=caption if fits else None,
            parse_mode=mode,
            reply_markup=keys if fits else None,
        )

    await with_fallback(upload, reply.text)
    if not fits:
        await send_reply(bot, chat_id, Reply(reply.text, reply.keyboard))


async def edit_reply(query: CallbackQuery, reply: Reply) -> None:
    """Show the reply in place of the message whose button was pressed, or as a new message when it
    cannot be: a file, a text too long for one message, a message Telegram no longer lets us edit."""
    message = query.message
    if reply.attachment is not None or len(split_text(reply.text)) > 1 or not isinstance(message, Message):
        await _send_new(query, reply)
        return

    async def edit(text: str, mode: str | None) -> Message | bool:
        return await message.edit_text(
            text, parse_mode=mode, reply_markup=markup(reply.keyboard), link_preview_options=NO_PREVIEW
        )

    try:
        await with_fallback(edit, reply.text)
    except BadRequest as error:
        if "not modified" in error.message.lower():
            return
        log.info("cannot edit the message (%s): sending a new one", error.message)
        await _send_new(query, reply)


async def _send_new(query: CallbackQuery, reply: Reply) -> None:
    message = query.message
    if message is not None:
        await send_reply(query.get_bot(), message.chat.id, reply)
