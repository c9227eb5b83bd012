"""The rows of a weekly summary: a unit's first row and the rows that continue it, one project each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from mail.records import ApplicationRecord, ApplicationResult, ProjectLine, Record, RowError
from mail.rows.body import BodyRow
from mail.values import Cell, parse_date, parse_vintage
from mail.vocab import vocab


@dataclass
class _Unit:
    """A unit of a weekly summary being read: its first row and the rows that continue it."""

    row: BodyRow
    province: str | None
    name: str
    code: str | None
    allowances_due_t: int | None
    result: ApplicationResult
    confirmed_on: date | None
    lines: list[ProjectLine] = field(default_factory=list)
    rows: list[BodyRow] = field(default_factory=list)

    def record(self) -> ApplicationRecord:
        return ApplicationRecord(
            self.row.number, self.province, self.name, self.code, self.allowances_due_t, tuple(self.lines)
        )


def weekly_records(
    rows: Iterator[BodyRow], tz: ZoneInfo
) -> tuple[list[Record], list[RowError], list[tuple[str | None, str]]]:
    units: list[_Unit] = []
    orphans: list[BodyRow] = []
    for row in rows:
        if row.text("name") is not None or row.text("code") is not None:
            units.append(_new_unit(row, tz))
        elif units:
            _add_line(units[-1], row, row.status("result", vocab().result_words), tz)
        else:
            row.identity("name")  # continues nothing: no unit above it
            orphans.append(row)
    return _weekly_outcome(units, orphans)


def _new_unit(row: BodyRow, tz: ZoneInfo) -> _Unit:
    name, code = row.identity("name")
    result = row.status("result", vocab().result_words)
    confirmed_on = row.optional("confirmed_on", lambda c: _day(c, tz))
    unit = _Unit(
        row=row,
        province=row.province(),
        name=name or "",
        code=code,
        allowances_due_t=row.amount("allowances_due_t", required=False),
        result=result or "pending",
        confirmed_on=confirmed_on,
    )
    _add_line(unit, row, result, tz, confirmed_on)
    return unit


def _add_line(
    unit: _Unit,
    row: BodyRow,
    result: ApplicationResult | None,
    tz: ZoneInfo,
    confirmed_on: date | None = None,
) -> None:
    """One project of the unit; a blank result or date is the unit's (merged cells). `confirmed_on`: the
    row's own date, when the caller read it already (a unit's first row)."""
    requested = row.amount("requested_t", required=True)
    confirmed = row.amount("confirmed_t", required=False)
    line_result = result or unit.result
    if confirmed_on is None:
        confirmed_on = row.optional("confirmed_on", lambda c: _day(c, tz))
    if confirmed_on is None and line_result == unit.result:
        confirmed_on = unit.confirmed_on
    start, end = row.optional("vintage", parse_vintage) or (None, None)
    unit.rows.append(row)
    if row.problems or requested is None:
        return
    line = ProjectLine(
        row.number, row.text("project_no"), row.text("project_name"), start, end,
        requested, confirmed, line_result, confirmed_on,
    )  # fmt: skip
    unit.lines.append(line)


def _day(cell: Cell, tz: ZoneInfo) -> date | None:
    moment = parse_date(cell, tz)
    return None if moment is None else moment.date()


def _weekly_outcome(
    units: list[_Unit], orphans: list[BodyRow]
) -> tuple[list[Record], list[RowError], list[tuple[str | None, str]]]:
    # A unit is applied whole or not at all: a summary is a full snapshot, and part of a unit's
    # projects would understate what it asked for.
    records: list[Record] = []
    refused: list[tuple[str | None, str]] = []
    errors = [row.error() for row in orphans]
    for unit in units:
        bad = [r for r in unit.rows if r.problems]
        if not bad:
            records.append(unit.record())
            continue
        refused.append((unit.code, unit.name))
        for row in unit.rows:
            if not row.problems:
                row.problem(f"与第{unit.row.number}行同属一家单位，该单位有行被退回，本行一并未采用")
            errors.append(row.error())
    errors.sort(key=lambda e: e.row)
    return records, errors, refused
