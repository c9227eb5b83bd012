"""Replay is exact: the state at T is what was known at T, also of records a later roster matched."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.reports import unit_report as chat_report
from compliance.creditcode import make_code
from tests.intake.world import (
    CYCLE,
    NCSC,
    SD,
    SD_UNITS,
    Unit,
    at,
    daily_rows,
    daily_subject,
    roster_mail,
    seeded,
    status,
    take,
    unmatched,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)

A, B, C = SD_UNITS
NEWCOMER = Unit("山东省", "威海新来能源有限公司", make_code("91371000MA3C00009"), "371000000009", 3_000_000)
BEFORE, AFTER = at("2021-11-30T20:00"), at("2021-12-01T12:00")


def daily(engine: Engine, holder: str, quantity: int) -> None:
    rows = daily_rows([("2021-11-30 10:00", holder, None, 700_000, quantity)])
    raw = xlsx_mail(NCSC, daily_subject("山东省", "2021-11-30"), "2021-11-30T17:40", rows, to=SD)
    assert take(engine, raw).outcome == "applied"


def test_a_record_a_later_roster_matched_is_unmatched_when_replaying_before_it(engine: Engine) -> None:
    seeded(engine)
    daily(engine, NEWCOMER.name, 40_000)
    take(engine, roster_mail(SD, [*SD_UNITS, NEWCOMER], "2021-12-01T10:00"))
    assert unmatched(engine, "山东省", BEFORE) == 1
    assert unmatched(engine, "山东省", AFTER) == 0
    assert status(engine, NEWCOMER, AFTER).status.cancelled_t == 40_000


def test_a_record_matched_by_a_new_name_of_a_known_unit_counts_only_from_then(engine: Engine) -> None:
    seeded(engine)
    renamed = "济南测试发电（集团）有限公司"
    daily(engine, renamed, 25_000)
    assert unmatched(engine, "山东省", BEFORE) == 1
    take(engine, roster_mail(SD, [Unit(A.province, renamed, A.code, A.account, A.due)], "2021-12-01T10:00"))
    assert unmatched(engine, "山东省", AFTER) == 0
    assert status(engine, A, AFTER).status.cancelled_t == 25_000
    assert unmatched(engine, "山东省", BEFORE) == 1
    assert status(engine, A, BEFORE).status.cancelled_t == 0
    reported = chat_report(engine, CYCLE, A.code, BEFORE)
    assert reported is not None and reported.status.cancelled_t == 0
    reported = chat_report(engine, CYCLE, A.code, AFTER)
    assert reported is not None and reported.status.cancelled_t == 25_000


def test_an_application_line_a_new_name_matched_belongs_to_the_unit_only_from_then(engine: Engine) -> None:
    seeded(engine)
    renamed = "济南测试发电（集团）有限公司"
    stranger = Unit(A.province, renamed, "", A.account, A.due)  # no code: matched by name only
    rows = weekly_rows([(stranger, 30_000, "已确认"), (B, 10_000, "待确认")], "2021-11-26")
    for row in rows[3:-1]:
        row[3] = row[3] or None
    take(engine, xlsx_mail(SD, weekly_subject("山东省", "2021-11-26"), "2021-11-26T17:00", rows))
    assert status(engine, A, BEFORE).status.application == "none"
    take(engine, roster_mail(SD, [Unit(A.province, renamed, A.code, A.account, A.due)], "2021-12-01T10:00"))
    assert status(engine, A, AFTER).status.confirmed_t == 30_000
    assert status(engine, A, BEFORE).status.application == "none"
    reported = chat_report(engine, CYCLE, A.code, BEFORE)
    assert reported is not None and reported.status.application == "none"
