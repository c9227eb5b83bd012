"""A weekly summary can neither freeze a province by a date in the future nor wipe it by being empty."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from mail import intake
from storage import outbox
from tests.intake.world import (
    CONFIG,
    SD,
    SD_UNITS,
    WEEKLY_HEADER,
    at,
    seeded,
    status,
    take,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.told import notifying

A, B, _ = SD_UNITS


def _weekly(rows: list[list[object]], as_of: str, when: str) -> bytes:
    return xlsx_mail(SD, weekly_subject("山东省", as_of), when, rows)


def test_a_summary_dated_after_its_mail_is_refused_and_freezes_nothing(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    typo = weekly_rows([(A, 150_000, "已确认")], "2022年10月29日")
    refused = take(sqlite_engine, _weekly(typo, "2022年10月29日", "2021-10-29T16:00"))
    assert refused.outcome == "quarantined"
    assert "截至日期 2022-10-29 晚于邮件日期 2021-10-29" in (refused.reason or "")
    later = weekly_rows([(A, 150_000, "已确认"), (B, 400_000, "待确认")], "2021年11月5日")
    assert take(sqlite_engine, _weekly(later, "2021年11月5日", "2021-11-05T16:00")).outcome == "applied"
    assert status(sqlite_engine, B).status.application == "pending"


def test_a_summary_dated_the_next_morning_is_taken(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    rows = weekly_rows([(A, 150_000, "已确认")], "2021年10月30日")
    assert take(sqlite_engine, _weekly(rows, "2021年10月30日", "2021-10-29T23:00")).outcome == "applied"


def test_an_empty_summary_changes_nothing_and_the_receipt_says_so(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    full = weekly_rows([(A, 150_000, "已确认"), (B, 400_000, "待确认")], "2021年11月5日")
    take(sqlite_engine, _weekly(full, "2021年11月5日", "2021-11-05T16:00"))
    empty = [["CCER抵销配额清缴申请汇总表"], ["截至日期：2021年11月12日"], list(WEEKLY_HEADER)]
    raw = _weekly(empty, "2021年11月12日", "2021-11-12T16:00")
    outcome = intake.take(sqlite_engine, raw, "mail.eml", notifying(CONFIG), at("2021-11-12T16:05"))
    assert (outcome.outcome, outcome.rows_applied) == ("applied", 0)
    assert status(sqlite_engine, A).status.confirmed_t == 150_000
    assert status(sqlite_engine, B).status.application == "pending"
    [receipt] = [i for i in outbox.items(sqlite_engine) if i.key.endswith(f"|{outcome.message_pk}")]
    assert "没有任何申请行：未作任何更改" in receipt.body
