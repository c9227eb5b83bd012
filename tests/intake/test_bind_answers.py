"""/bind CREDIT-CODE tells nothing: one answer whether the unit exists or not; a unit is mailed a
bounded number of codes; without SMTP the chat is told how to get a code instead."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.chat.core import ask, identify, respond
from compliance.creditcode import make_code
from compliance.cycle import load_cycle
from storage.models import OutboxItem
from tests.intake.world import GD, GD_UNITS, SD, SD_UNITS, at, roster_mail, take

CYCLE = load_cycle("2019-2020")
WHEN = at("2021-10-27T10:00")
NOBODY = make_code("91370100MA3C99999")


def _codes(engine: Engine) -> list[OutboxItem]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxItem).where(OutboxItem.kind == "bind_code")))


def test_one_answer_whether_the_unit_exists_or_not(sqlite_engine: Engine) -> None:
    take(sqlite_engine, roster_mail(SD, SD_UNITS))
    known = ask(sqlite_engine, CYCLE, 1, "bind", (SD_UNITS[0].code,), WHEN).text
    unknown = ask(sqlite_engine, CYCLE, 2, "bind", (NOBODY,), WHEN).text
    assert known == unknown
    assert "@" not in known
    assert len(_codes(sqlite_engine)) == 1


def test_a_unit_is_mailed_a_bounded_number_of_codes(sqlite_engine: Engine) -> None:
    take(sqlite_engine, roster_mail(GD, GD_UNITS))
    for n in range(12):  # many chats, spread over the day so the hourly cap per address never bites
        ask(sqlite_engine, CYCLE, 100 + n, "bind", (GD_UNITS[0].code,), WHEN + timedelta(hours=n))
    assert len(_codes(sqlite_engine)) == 5


def test_without_smtp_binding_by_email_is_said_to_be_unavailable(sqlite_engine: Engine) -> None:
    take(sqlite_engine, roster_mail(SD, SD_UNITS))
    who, lang = identify(sqlite_engine, 7)
    text = respond(sqlite_engine, CYCLE, 7, "bind", (SD_UNITS[0].code,), WHEN, who, lang, False).text
    assert "无法通过邮件绑定" in text and "ccerbot invite --unit" in text
    assert _codes(sqlite_engine) == []
