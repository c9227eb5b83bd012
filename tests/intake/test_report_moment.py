"""A province's report is of one moment: its units and the cancellations no unit matched are read in one
snapshot, though intake commits a list between its statements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.reports import province_report
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.intake.world import (
    CYCLE,
    LATER,
    NCSC,
    at,
    daily_rows,
    daily_subject,
    seeded,
    take,
    xlsx_mail,
)

STRANGER = [("2021-12-14 10:00", "某不在名录中的发电有限公司", None, 900_000_000, 1_000)]


def test_a_list_committed_while_the_report_is_read_is_not_half_in_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'moment.db'}")
    upgrade(engine)
    seeded(engine)
    raw = xlsx_mail(NCSC, daily_subject("山东省", "2021年12月14日"), "2021-12-14T17:40", daily_rows(STRANGER))
    taken: list[str] = []

    def intake_meanwhile(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not taken and statement.lstrip().upper().startswith("SELECT"):  # after the report's first read
            taken.append("taking")  # intake's own statements come here too
            taken[0] = take(engine, raw, "daily.eml", at("2021-12-14T17:40")).outcome

    event.listen(engine, "after_cursor_execute", intake_meanwhile)
    try:
        during = province_report(engine, CYCLE, "山东省", LATER)
    finally:
        event.remove(engine, "after_cursor_execute", intake_meanwhile)
    after = province_report(engine, CYCLE, "山东省", LATER)
    assert taken == ["applied"]
    assert (len(during.unmatched), len(after.unmatched)) == (0, 1)
