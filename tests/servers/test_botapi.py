from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    AIORateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from tests.servers.botapi import BotApiServer

CHAT = 5550001
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _bot(botapi: BotApiServer, **kwargs: object) -> ExtBot[None]:
    return ExtBot(botapi.token, base_url=botapi.base_url, base_file_url=botapi.base_file_url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def bot(botapi: BotApiServer) -> AsyncIterator[ExtBot[None]]:
    async with _bot(botapi) as bot:
        yield bot


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])
    await update.effective_message.reply_text(
        "欢迎使用 <b>ccerbot</b>", parse_mode="HTML", reply_markup=keyboard
    )


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("已确认")
    await query.edit_message_text(f"已确认: {query.data}")


async def test_an_application_answers_pushed_updates(botapi: BotApiServer) -> None:
    application = botapi.application_builder().build()
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    application.add_handler(CallbackQueryHandler(_pressed))

    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        botapi.push_message(CHAT, "/start", username="owner")
        welcome = (await botapi.wait_sent(1, method="sendMessage"))[0]
        botapi.push_message(CHAT, "你好")
        await botapi.wait_sent(2, method="sendMessage")
        botapi.push_callback(CHAT, "ok", message_id=welcome.message_id or 0)
        await botapi.wait_sent(1, method="editMessageText")
        await application.updater.stop()
        await application.stop()

    assert botapi.sent_texts(CHAT) == ["欢迎使用 <b>ccerbot</b>", "你好"]
    assert welcome.parse_mode == "HTML"
    assert welcome.reply_markup == {"inline_keyboard": [[{"text": "确认", "callback_data": "ok"}]]}
    methods = [c.method for c in botapi.sent]
    assert methods == ["sendMessage", "sendMessage", "answerCallbackQuery", "editMessageText"]
    assert botapi.sent[-1].text == "已确认: ok"
    assert botapi.pending_updates == 0


async def test_uploads_are_recorded_with_their_bytes(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    document = await bot.send_document(CHAT, b"PK\x03\x04 xlsx", filename="2024年报告.xlsx", caption="月报")
    photo = await bot.send_photo(CHAT, PNG_1X1, caption="趋势图")

    sent = botapi.sent
    assert [c.method for c in sent] == ["sendDocument", "sendPhoto"]
    assert (sent[0].file_name, sent[0].file_bytes, sent[0].caption) == (
        "2024年报告.xlsx",
        b"PK\x03\x04 xlsx",
        "月报",
    )
    assert sent[1].file_bytes == PNG_1X1
    assert document.document is not None and document.document.file_name == "2024年报告.xlsx"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1, 1)


async def test_a_pushed_document_can_be_downloaded(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    update = botapi.push_document(CHAT, "排放数据.xls", b"\xd0\xcf\x11\xe0 xls bytes")

    received = await bot.get_updates()
    file = await bot.get_file(update["message"]["document"]["file_id"])
    data = await file.download_as_bytearray()

    assert received[0].message is not None and received[0].message.document is not None
    assert received[0].message.document.file_name == "排放数据.xls"
    assert bytes(data) == b"\xd0\xcf\x11\xe0 xls bytes"


async def test_a_429_is_honoured_by_the_rate_limiter(botapi: BotApiServer) -> None:
    botapi.fail_next("sendMessage", status=429, retry_after=1)

    async with _bot(botapi, rate_limiter=AIORateLimiter(max_retries=3)) as bot:
        await bot.send_message(CHAT, "once")

    assert botapi.sent_texts() == ["once"]
    assert [c.status for c in botapi.calls if c.method == "sendMessage"] == [429, 200]


async def test_a_429_without_limiter_surfaces_as_retry_after(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    botapi.fail_next("sendMessage", status=429, retry_after=7)

    with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
        await bot.send_message(CHAT, "x")


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_surface_as_network_errors(
    botapi: BotApiServer, bot: ExtBot[None], status: int
) -> None:
    botapi.fail_next("sendMessage", status=status)

    with pytest.raises(NetworkError) as raised:
        await bot.send_message(CHAT, "lost")
    await bot.send_message(CHAT, "retried")

    assert not isinstance(raised.value, (BadRequest, TimedOut))
    assert botapi.sent_texts() == ["retried"]


async def test_html_is_validated_like_telegram(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    for broken in ("<b>未闭合", "a <br> b", "<b><i>x</b></i>", "1 < 2", '<span class="x">y</span>'):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(CHAT, broken, parse_mode="HTML")

    message = await bot.send_message(
        CHAT, "<b>粗体</b> &amp; <a href='https://x.cn'>链接</a>", parse_mode="HTML"
    )

    assert message.text == "粗体 & 链接"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 2), ("text_link", 5, 2)]
    assert botapi.sent_texts() == ["<b>粗体</b> &amp; <a href='https://x.cn'>链接</a>"]


async def test_markdown_v2_reserved_characters_must_be_escaped(bot: ExtBot[None]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, "total: 1.5 t", parse_mode="MarkdownV2")

    message = await bot.send_message(CHAT, r"total: *1\.5* t `a.b`", parse_mode="MarkdownV2")
    assert message.message_id > 0


async def test_too_long_and_empty_texts_are_refused(bot: ExtBot[None]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "碳" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(CHAT, "<b></b>", parse_mode="HTML")

    assert (await bot.send_message(CHAT, "碳" * 4096)).text == "碳" * 4096


async def test_editing_without_a_change_is_refused(bot: ExtBot[None]) -> None:
    message = await bot.send_message(CHAT, "v1")

    edited = await bot.edit_message_text("v2", CHAT, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("v2", CHAT, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v3", CHAT, 999999)

    assert isinstance(edited, object) and getattr(edited, "text", None) == "v2"


async def test_a_second_long_poll_ends_the_first_with_409(botapi: BotApiServer) -> None:
    async with _bot(botapi) as first, _bot(botapi) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=10))
        await _until(lambda: botapi.is_long_polling)
        polling = asyncio.create_task(second.get_updates(timeout=10))

        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting
        botapi.push_message(CHAT, "for the survivor")
        updates = await polling

    assert [u.message.text for u in updates if u.message] == ["for the survivor"]


async def test_an_empty_long_poll_ends_after_its_timeout(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    assert await bot.get_updates(timeout=1) == ()
    assert [c.status for c in botapi.calls if c.method == "getUpdates"] == [200]


async def test_get_updates_returns_at_once_and_offset_confirms(
    botapi: BotApiServer, bot: ExtBot[None]
) -> None:
    botapi.push_message(CHAT, "one")
    botapi.push_message(CHAT, "two")

    first = await bot.get_updates(timeout=30)
    again = await bot.get_updates(offset=first[0].update_id + 1, timeout=30)
    await bot.get_updates(offset=again[-1].update_id + 1, timeout=0)

    assert [u.message.text for u in first if u.message] == ["one", "two"]
    assert [u.message.text for u in again if u.message] == ["two"]
    assert first[1].update_id == first[0].update_id + 1
    assert botapi.pending_updates == 0


async def test_a_delayed_answer_times_out_the_client_but_the_message_is_delivered(
    botapi: BotApiServer, bot: ExtBot[None]
) -> None:
    botapi.delay_next("sendMessage", 3)

    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "slow", read_timeout=0.2)

    assert botapi.sent_texts() == ["slow"]


async def test_the_rate_limit_answers_429_beyond_the_burst(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    botapi.rate_limit(per_second=0.2, burst=2)

    await bot.send_message(CHAT, "1")
    await bot.send_message(CHAT, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "3")

    assert botapi.rate_limited_count == 1
    assert botapi.sent_texts() == ["1", "2"]


async def test_commands_webhook_and_housekeeping_methods(botapi: BotApiServer, bot: ExtBot[None]) -> None:
    await bot.set_my_commands([("start", "开始"), ("report", "月报")])
    await bot.set_webhook("https://example.cn/hook")
    info = await bot.get_webhook_info()
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()

    assert [c.command for c in await bot.get_my_commands()] == ["start", "report"]
    assert info.url == "https://example.cn/hook"
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.send_chat_action(CHAT, "typing")
    assert await bot.log_out()
    assert await bot.close()


async def test_unknown_methods_tokens_and_json_bodies(botapi: BotApiServer) -> None:
    url = f"{botapi.base_url}{botapi.token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/sendStickerPackToMars", json={}) as response:
            unknown = (response.status, await response.json())
        async with session.post(f"{url}/sendmessage", json={"chat_id": CHAT, "text": "json"}) as response:
            sent = await response.json()
        async with session.get(f"{botapi.base_url}1:wrong/getMe") as response:
            unauthorized = response.status

    assert unknown == (404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
    assert sent["ok"] and sent["result"]["text"] == "json"
    assert unauthorized == 401
    assert botapi.sent_texts() == ["json"]


async def test_a_wrong_token_is_invalid_for_ptb(botapi: BotApiServer) -> None:
    bot: ExtBot[None] = ExtBot("1:wrong", base_url=botapi.base_url)
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    finally:
        await bot.shutdown()


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)
