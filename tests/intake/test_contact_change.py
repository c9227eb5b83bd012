"""A roster that changes a unit's contact address cannot make it a bound chat: the old address is
told, and binding codes keep going to it until an officer confirms the new one or the days pass."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.chat.core import ask
from compliance.cycle import load_cycle
from storage import access
from storage.models import ContactChange, OutboxItem
from tests.intake.world import SD, SD_UNITS, at, roster_rows, take, xlsx_mail

CYCLE = load_cycle("2019-2020")
UNIT = SD_UNITS[0]
ASKER, OFFICER, OTHER_OFFICER = 501, 601, 602
SOON = at("2021-10-27T10:00")  # a day after the change: within the days it waits


def _roster_with(engine: Engine, contact: str, when: str) -> None:
    rows = roster_rows(SD_UNITS)
    rows[2][8] = contact
    outcome = take(engine, xlsx_mail(SD, "山东省重点排放单位名录", when, rows))
    assert outcome.outcome in ("applied", "applied_with_row_errors"), outcome.reason


def _mails(engine: Engine, kind: str) -> list[OutboxItem]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxItem).where(OutboxItem.kind == kind)))


def _bind_codes_to(engine: Engine) -> list[str]:
    return [m.recipient for m in _mails(engine, "bind_code")]


def test_a_changed_address_is_told_to_the_old_one_and_not_used_until_confirmed(sqlite_engine: Engine) -> None:
    _roster_with(sqlite_engine, "old@unit1.example", "2021-10-25T15:00")
    _roster_with(sqlite_engine, "attacker@evil.example", "2021-10-26T15:00")
    [notice] = _mails(sqlite_engine, "contact_changed")
    assert notice.recipient == "old@unit1.example" and "attacker@evil.example" in notice.body
    ask(sqlite_engine, CYCLE, ASKER, "bind", (UNIT.code,), SOON)
    assert _bind_codes_to(sqlite_engine) == ["old@unit1.example"]

    with Session(sqlite_engine) as session, session.begin():
        access.bind(session, OFFICER, "officer", SOON, province="山东省")
        access.bind(session, OTHER_OFFICER, "officer", SOON, province="广东省")
    refused = ask(sqlite_engine, CYCLE, OTHER_OFFICER, "confirm_contact", (UNIT.code,), SOON).text
    assert "没有待确认" in refused
    done = ask(sqlite_engine, CYCLE, OFFICER, "confirm_contact", (UNIT.code,), SOON).text
    assert "已确认" in done and "attacker@evil.example" in done
    ask(sqlite_engine, CYCLE, ASKER + 1, "bind", (UNIT.code,), SOON + timedelta(minutes=1))
    assert _bind_codes_to(sqlite_engine)[-1] == "attacker@evil.example"


def test_the_new_address_is_used_once_the_configured_days_have_passed(sqlite_engine: Engine) -> None:
    _roster_with(sqlite_engine, "old@unit1.example", "2021-10-25T15:00")
    _roster_with(sqlite_engine, "new@unit1.example", "2021-10-26T15:00")
    with Session(sqlite_engine) as session:
        [change] = session.exec(select(ContactChange)).all()
    ask(sqlite_engine, CYCLE, ASKER, "bind", (UNIT.code,), change.usable_from - timedelta(minutes=1))
    ask(sqlite_engine, CYCLE, ASKER + 1, "bind", (UNIT.code,), change.usable_from + timedelta(minutes=1))
    assert _bind_codes_to(sqlite_engine) == ["old@unit1.example", "new@unit1.example"]


def test_a_contact_cell_with_two_addresses_is_a_row_error(sqlite_engine: Engine) -> None:
    rows = roster_rows(SD_UNITS)
    rows[2][8] = "a@unit1.example, b@evil.example"
    outcome = take(sqlite_engine, xlsx_mail(SD, "山东省重点排放单位名录", "2021-10-25T15:00", rows))
    assert outcome.outcome == "applied_with_row_errors"
    [error] = outcome.row_errors
    assert error.row == 3 and "只能填写一个" in error.reason
