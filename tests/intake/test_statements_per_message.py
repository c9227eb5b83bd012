"""Applying a message costs the same number of statements whatever the number of its rows: units,
obligations and earlier records are looked up once per message, never once per row (a query a row made
a season of 10,000 units take minutes; bench.ingest measures the time, this checks the shape)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from compliance.creditcode import make_code
from tests.db import statements
from tests.intake.world import (
    NCSC,
    SD,
    Unit,
    daily_rows,
    daily_subject,
    roster_mail,
    seeded,
    take,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)


def _units(first: int, count: int) -> list[Unit]:
    return [
        Unit(
            "山东省",
            f"第{n}测试电力有限公司",
            make_code(f"91370100MA3D{n:05d}"),
            f"37200000{n:04d}",
            1000 + n,
        )
        for n in range(first, first + count)
    ]


def _cost(engine: Engine, raw: bytes, want: str = "applied") -> int:
    with statements(engine) as said:
        assert take(engine, raw).outcome == want
    return len(said)


def test_a_roster_costs_the_same_statements_for_5_units_as_for_60(engine: Engine) -> None:
    seeded(engine)  # the message before each one measured is of the same kind: the same cache to refresh
    few, many = _units(1, 5), _units(100, 60)
    assert _cost(engine, roster_mail(SD, few)) == _cost(engine, roster_mail(SD, many))
    # and again, when every unit is known and some of them change
    renamed = [Unit(u.province, u.name + "（新）", u.code, u.account, u.due) for u in few + many]
    assert _cost(engine, roster_mail(SD, renamed[:5], "2021-10-26T15:00")) == _cost(
        engine, roster_mail(SD, renamed[5:], "2021-10-26T16:00")
    )


def test_a_weekly_summary_costs_the_same_statements_for_5_units_as_for_60(engine: Engine) -> None:
    seeded(engine)
    few, many = _units(1, 5), _units(100, 60)
    take(engine, roster_mail(SD, few + many))

    def summary(units: list[Unit], as_of: str, when: str) -> bytes:
        rows = weekly_rows([(u, 100, "待确认") for u in units], as_of)
        return xlsx_mail(SD, weekly_subject("山东省", as_of), when, rows)

    take(engine, summary(few, "2021-11-05", "2021-11-05T18:00"))
    first = _cost(engine, summary(few, "2021-11-12", "2021-11-12T18:00"))
    assert first == _cost(engine, summary(many, "2021-11-19", "2021-11-19T18:00"))


def test_a_list_without_serials_costs_the_same_statements_for_5_records_as_for_40(engine: Engine) -> None:
    seeded(engine)
    unit = _units(1, 1)[0]
    take(engine, roster_mail(SD, [unit]))

    def cancellations(count: int, day: str) -> bytes:
        rows = daily_rows([(f"{day} 10:{n:02d}", unit.name, unit.code, 1, 100 + n) for n in range(count)])
        for row in rows[1:]:
            row[6] = row[7] = None  # no serials: each record is known by its unit, day, time and quantity
        return xlsx_mail(NCSC, daily_subject("山东省", day), f"{day}T18:00", rows)

    take(engine, cancellations(5, "2021-11-15"))
    assert _cost(engine, cancellations(5, "2021-11-16")) == _cost(engine, cancellations(40, "2021-11-17"))
