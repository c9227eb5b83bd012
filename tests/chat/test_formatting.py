"""Every view, for every kind of person, in both languages: valid Telegram HTML, within the limits."""

from __future__ import annotations

import pytest

from bot.chat import keyboards
from bot.chat.reply import MAX_TEXT, split_text
from storage.access import Identity
from tests.chat.conftest import Ask, emitter, officer
from tests.chat.data import CAST, SHANDONG, Cast
from tests.servers.botapi import MAX_CAPTION, parse_html

PEOPLE = {
    "stranger": None,
    "emitter": emitter(CAST.applied),
    "emitter with anomalies": emitter(CAST.over_cap),
    "officer": officer(),
    "national officer": officer("*", 31),
}
ASKED = (
    "/start",
    "/help",
    "/status",
    "/deadlines",
    "/overview",
    f"/overview {SHANDONG}",
    "/pending",
    "/pending cancel_ccer",
    "/pending await_confirmation 2",
    "/unit 电",
    f"/unit {CAST.applied}",
    "/unit",
    "/anomalies",
    f"/unmatched {SHANDONG}",
    "/quarantine",
    f"/export {SHANDONG}",
    f"/chart {SHANDONG}",
    "/bind",
    "/bind NOTACODE",
    "/lang",
    "/nonsense",
    "你好",
)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("person", list(PEOPLE))
def test_every_answer_is_valid_telegram_html(chat: Ask, story: Cast, person: str, lang: str) -> None:
    who: Identity | None = PEOPLE[person]
    chat_id = who.peer if who else 99
    chat(chat_id, f"/lang {lang}")
    for text in ASKED:
        reply = chat(chat_id, text, who)
        for chunk in split_text(reply.text):
            plain, _ = parse_html(chunk)  # raises on anything Telegram would refuse
            assert plain.strip() and len(plain) <= MAX_TEXT, text
        if reply.attachment is not None:
            assert len(parse_html(reply.text)[0]) <= MAX_CAPTION, text
        for row in reply.keyboard:
            for button in row:
                assert button.label and len(button.data.encode()) <= keyboards.MAX_DATA, text
