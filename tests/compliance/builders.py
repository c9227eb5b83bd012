"""Small constructors that keep the tests readable."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from compliance.status import ApplicationLine, Cancellation, LineResult, OffsetOperation, UnitFacts, YearFacts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def line(
    requested_t: int,
    result: LineResult = "confirmed",
    confirmed_t: int | None = None,
    project_no: str | None = "0158",
    vintage_end: date | None = date(2016, 10, 31),
) -> ApplicationLine:
    return ApplicationLine(
        project_no, "某项目", date(2014, 1, 1), vintage_end, requested_t, confirmed_t, result
    )


def cancelled(quantity_t: int, when: datetime | None = None) -> Cancellation:
    return Cancellation(quantity_t, when or at(2021, 12, 1, 10))


def facts(
    allowances_due_t: int | None = 1_000_000,
    complied: bool | None = False,
    lines: tuple[ApplicationLine, ...] = (),
    cancellations: tuple[Cancellation, ...] = (),
    code: str = "91370000000000000X",
    province: str = "山东省",
    allowances_by_year_t: tuple[tuple[int, int], ...] = (),
    years: tuple[YearFacts, ...] = (),
    operations: tuple[OffsetOperation, ...] = (),
    sector: str | None = None,
    listed_through: datetime | None = None,
) -> UnitFacts:
    return UnitFacts(
        code,
        "某发电有限公司",
        province,
        allowances_due_t,
        complied,
        lines,
        cancellations,
        allowances_by_year_t,
        sector=sector,
        years=years,
        operations=operations,
        listed_through=listed_through,
    )
