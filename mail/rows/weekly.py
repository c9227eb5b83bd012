"""The rows of a weekly summary: a unit's first row and the rows that continue it, one project each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from mail.records import ApplicationRecord, ApplicationResult, ProjectLine, Record, RowError
from mail.rows.body import BodyRow
from mail.rows.readings import Readings
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
    readings = Readings("weekly", _read, tz)
    for row in rows:
        if not units and not _starts_unit(row):
            row.identity("name")  # continues nothing: no unit above it
            orphans.append(row)
            continue
        reading = readings.read(row)
        if reading.starts_unit:
            units.append(_new_unit(row, reading))
        else:
            _add_line(units[-1], row, reading)
    return _weekly_outcome(units, orphans)


def _starts_unit(row: BodyRow) -> bool:
    return row.text("name") is not None or row.text("code") is not None


@dataclass(frozen=True)
class _Reading:
    """What a row's cells say, field by field: the same for the same cells under the same header,
    whatever the row's place and the unit it belongs to (its problems are kept beside it)."""

    starts_unit: bool
    name: str | None
    code: str | None
    province: str | None
    allowances_due_t: int | None
    result: ApplicationResult | None
    confirmed_on: date | None
    requested_t: int | None
    confirmed_t: int | None
    vintage: tuple[date | None, date | None]
    project_no: str | None
    project_name: str | None


def _read(row: BodyRow, tz: ZoneInfo) -> _Reading:
    starts = _starts_unit(row)
    name, code = row.identity("name") if starts else (None, None)
    result = row.status("result", vocab().result_words)
    confirmed_on = row.optional("confirmed_on", lambda c: _day(c, tz))
    province = row.province() if starts else None
    allowances = row.amount("allowances_due_t", required=False) if starts else None
    return _Reading(
        starts, name, code, province, allowances, result, confirmed_on,
        row.amount("requested_t", required=True), row.amount("confirmed_t", required=False),
        row.optional("vintage", parse_vintage) or (None, None),
        row.text("project_no"), row.text("project_name"),
    )  # fmt: skip


def _new_unit(row: BodyRow, reading: _Reading) -> _Unit:
    unit = _Unit(
        row=row,
        province=reading.province,
        name=reading.name or "",
        code=reading.code,
        allowances_due_t=reading.allowances_due_t,
        result=reading.result or "pending",
        confirmed_on=reading.confirmed_on,
    )
    _add_line(unit, row, reading)
    return unit


def _add_line(unit: _Unit, row: BodyRow, reading: _Reading) -> None:
    """One project of the unit; a blank result or date is the unit's (merged cells)."""
    line_result = reading.result or unit.result
    confirmed_on = reading.confirmed_on
    if confirmed_on is None and line_result == unit.result:
        confirmed_on = unit.confirmed_on
    unit.rows.append(row)
    if row.problems or reading.requested_t is None:
        return
    start, end = reading.vintage
    line = ProjectLine(
        row.number, reading.project_no, reading.project_name, start, end,
        reading.requested_t, reading.confirmed_t, line_result, confirmed_on,
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
