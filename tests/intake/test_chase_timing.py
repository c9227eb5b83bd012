"""Officers chase a confirmed application not fully cancelled by the cancellation deadline (2021-12-15
17:00), but only once the lists can tell: the deadline day's list is sent after 17:00 (FORMATS.md §3), so
a unit that cancelled on the last day is not chased before that list is in, and by the next morning the
chase goes out whether it came or not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from storage.engine import make_engine
from storage.migrate import upgrade
from tests.intake.world import (
    NCSC,
    SD,
    SD_UNITS,
    at,
    daily_rows,
    daily_subject,
    seeded,
    status,
    take,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)

CHASE = ("not_cancelled_by_deadline",)
LAST_DAY, OTHER = SD_UNITS[0], SD_UNITS[1]  # both confirmed; only LAST_DAY cancels, on the deadline day


def confirmed_world(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'chase.db'}")
    upgrade(engine)
    seeded(engine)
    rows = weekly_rows([(LAST_DAY, 100_000, "已确认"), (OTHER, 100_000, "已确认")], "2021-12-10")
    summary = xlsx_mail(SD, weekly_subject("山东省", "2021-12-10"), "2021-12-10T16:00", rows)
    assert take(engine, summary, now=at("2021-12-10T16:00")).outcome == "applied"
    return engine


def take_deadline_day_list(engine: Engine) -> None:
    rows = daily_rows([("2021-12-15 10:00", LAST_DAY.name, LAST_DAY.code, 900_000_000, 100_000)])
    raw = xlsx_mail(NCSC, daily_subject("山东省", "2021年12月15日"), "2021-12-15T17:40", rows)
    assert take(engine, raw, "daily.eml", now=at("2021-12-15T17:40")).outcome == "applied"


def chases(engine: Engine, when: str) -> dict[str, tuple[str, ...]]:
    return {u.name: status(engine, u, at(when)).status.chase for u in (LAST_DAY, OTHER)}


def test_no_chase_at_the_deadline_before_that_day_s_list(tmp_path: Path) -> None:
    engine = confirmed_world(tmp_path)
    assert chases(engine, "2021-12-15T17:00") == {LAST_DAY.name: (), OTHER.name: ()}


def test_the_deadline_day_s_list_tells_who_to_chase(tmp_path: Path) -> None:
    engine = confirmed_world(tmp_path)
    take_deadline_day_list(engine)
    assert chases(engine, "2021-12-15T17:40") == {LAST_DAY.name: (), OTHER.name: CHASE}


def test_without_that_list_the_chase_goes_out_the_next_morning(tmp_path: Path) -> None:
    engine = confirmed_world(tmp_path)
    assert chases(engine, "2021-12-16T08:59") == {LAST_DAY.name: (), OTHER.name: ()}
    assert chases(engine, "2021-12-16T09:00") == {LAST_DAY.name: CHASE, OTHER.name: CHASE}


def test_an_earlier_day_s_list_does_not_tell(tmp_path: Path) -> None:
    engine = confirmed_world(tmp_path)
    rows = daily_rows([("2021-12-14 10:00", LAST_DAY.name, LAST_DAY.code, 900_000_000, 40_000)])
    raw = xlsx_mail(NCSC, daily_subject("山东省", "2021年12月14日"), "2021-12-14T17:40", rows)
    assert take(engine, raw, "daily.eml", now=at("2021-12-14T17:40")).outcome == "applied"
    assert chases(engine, "2021-12-15T17:10") == {LAST_DAY.name: (), OTHER.name: ()}
