"""An officer's address speaks for its own province only: mail from 江苏省's officer can change nothing of
浙江省's, whatever its subject, its rows or its kind say."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.reports import province_report, unit_report, unit_reports
from mail import intake
from mail.intake import IntakeConfig, Outcome
from mail.trust import Senders
from storage.engine import make_engine
from tests.intake.world import (
    Unit,
    daily_rows,
    daily_subject,
    roster_rows,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.reliability.harness import JS, STORY, UNITS, ZJ
from tests.reliability.scope import CYCLE, NOW, World, build_world

JS_OFFICER = STORY["senders"]["provinces"][JS][0]
NCSC = STORY["senders"]["ncsc"][0]
CONFIG = IntakeConfig(Senders.build(STORY["senders"]["ncsc"], STORY["senders"]["provinces"]), CYCLE.tz)
NINGBO = UNITS["宁波北仑热电有限公司"]
WENZHOU = UNITS["温州瓯江能源有限公司"]
NANJING = UNITS["南京江北发电有限公司"]


@pytest.fixture(scope="module")
def story_db(tmp_path_factory: pytest.TempPathFactory, mailbox: list[bytes]) -> Path:
    folder = tmp_path_factory.mktemp("mail-access")
    world: World = build_world(folder, mailbox)
    world.engine.dispose()
    return folder / "access.db"


@pytest.fixture
def engine(story_db: Path, tmp_path: Path) -> Iterator[Engine]:
    """The whole story taken in; each test changes its own copy."""
    shutil.copy(story_db, tmp_path / "story.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'story.db'}")
    yield engine
    engine.dispose()


def zhejiang(engine: Engine) -> list[dict[str, object]]:
    """浙江省 as everyone sees it: its officer's view, and each of its units in the national view."""
    mine = [u.to_json() for u in province_report(engine, CYCLE, ZJ, NOW).units]
    national = [r.to_json() for r in unit_reports(engine, CYCLE, NOW) if r.code in {u["code"] for u in mine}]
    return mine + national


def as_unit(code: str, province: str, due: int = 9_800_000) -> Unit:
    """A row about the unit with this code, saying it is of `province`."""
    name = next(n for n, c in UNITS.items() if c == code)
    return Unit(province, name, code, code[-12:], due)


def take(engine: Engine, raw: bytes) -> Outcome:
    return intake.take(engine, raw, "forged.eml", CONFIG, NOW)


def test_a_roster_from_another_province_cannot_take_over_a_unit(engine: Engine) -> None:
    before = zhejiang(engine)
    row = as_unit(NINGBO, JS)
    rows = roster_rows([row], {NINGBO: "已完成"})
    rows[-1][-1] = "attacker@js.example"
    outcome = take(
        engine, xlsx_mail(JS_OFFICER, f"{JS}2019-2020年度重点排放单位名录（补充）", "2021-12-18T10:00", rows)
    )
    assert outcome.rows_applied == 0 and len(outcome.row_errors) == 1
    assert zhejiang(engine) == before
    report = unit_report(engine, CYCLE, NINGBO, NOW)
    assert report is not None and (report.province, report.contact_email) == (ZJ, "unit2@3302.example")


def test_a_weekly_summary_from_another_province_cannot_change_a_units_figures(engine: Engine) -> None:
    before = zhejiang(engine)
    lines = weekly_rows([(as_unit(WENZHOU, JS), 900_000, "已确认")], "2021-12-17")
    outcome = take(engine, xlsx_mail(JS_OFFICER, weekly_subject(JS, "2021-12-17"), "2021-12-17T16:30", lines))
    assert outcome.rows_applied == 0 and len(outcome.row_errors) == 1
    assert zhejiang(engine) == before


def test_roster_rows_naming_another_province_are_refused(engine: Engine) -> None:
    before = zhejiang(engine)
    rows = roster_rows([as_unit(NINGBO, ZJ)], {NINGBO: "已完成"})
    outcome = take(
        engine, xlsx_mail(JS_OFFICER, f"{JS}2019-2020年度重点排放单位名录（补充）", "2021-12-18T10:00", rows)
    )
    assert (outcome.outcome, outcome.rows_applied, len(outcome.row_errors)) == (
        "applied_with_row_errors",
        0,
        1,
    )
    assert zhejiang(engine) == before


@pytest.mark.parametrize("kind", ["roster", "weekly_summary", "cancellation_list"])
def test_mail_that_names_another_province_is_quarantined(engine: Engine, kind: str) -> None:
    before = zhejiang(engine)
    if kind == "roster":
        raw = xlsx_mail(
            JS_OFFICER,
            f"{ZJ}2019-2020年度重点排放单位名录",
            "2021-12-18T10:00",
            roster_rows([as_unit(NINGBO, ZJ)]),
        )
    elif kind == "weekly_summary":
        lines = weekly_rows([(as_unit(WENZHOU, ZJ), 1, "已确认")], "2021-12-17")
        raw = xlsx_mail(JS_OFFICER, weekly_subject(ZJ, "2021-12-17"), "2021-12-17T16:30", lines)
    else:
        name = next(n for n, c in UNITS.items() if c == NINGBO)
        rows = daily_rows([("2021-12-14 10:00", name, NINGBO, 987_000_000, 320_000)])
        raw = xlsx_mail(JS_OFFICER, daily_subject(ZJ, "2021年12月14日"), "2021-12-14T17:40", rows)
    outcome = take(engine, raw)
    assert outcome.outcome == "quarantined", outcome
    assert zhejiang(engine) == before


def test_a_cancellation_list_from_an_officer_cannot_touch_another_provinces_unit(engine: Engine) -> None:
    before = zhejiang(engine)
    nanjing = unit_report(engine, CYCLE, NANJING, NOW)
    name = next(n for n, c in UNITS.items() if c == NINGBO)
    rows = daily_rows([("2021-12-14 10:00", name, NINGBO, 987_000_000, 320_000)])
    outcome = take(
        engine, xlsx_mail(JS_OFFICER, daily_subject(JS, "2021年12月14日"), "2021-12-14T17:40", rows)
    )
    assert (outcome.rows_applied, len(outcome.row_errors)) == (0, 1)
    assert zhejiang(engine) == before
    assert unit_report(engine, CYCLE, NANJING, NOW) == nanjing


def test_the_national_center_cannot_send_a_roster(engine: Engine) -> None:
    before = zhejiang(engine)
    rows = roster_rows([as_unit(NINGBO, ZJ)], {NINGBO: "已完成"})
    outcome = take(engine, xlsx_mail(NCSC, f"{ZJ}2019-2020年度重点排放单位名录", "2021-12-18T10:00", rows))
    assert outcome.outcome == "quarantined"
    assert zhejiang(engine) == before
