"""The rows of a cancellation list (注销清单): one cancellation each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from mail.records import CancellationLine, Record, RowError
from mail.rows.body import BodyRow
from mail.values import Cell, parse_clock, parse_date, parse_serial_range


def cancellation_records(
    rows: Iterator[BodyRow], tz: ZoneInfo, default_date: date | None
) -> tuple[list[Record], list[RowError]]:
    records: list[Record] = []
    errors: list[RowError] = []
    for row in rows:
        holder, code = row.identity("holder_name")
        cancelled_at = _cancelled_at(row, tz, default_date)
        quantity = row.amount("quantity_t", required=True)
        serial_from, serial_to = _serials(row)
        if row.problems or cancelled_at is None or quantity is None:
            errors.append(row.error())
            continue
        records.append(
            CancellationLine(
                row=row.number,
                cancelled_at=cancelled_at,
                holder_name=holder or "",
                code=code,
                account_no=row.text("account_no"),
                project_no=row.text("project_no"),
                project_name=row.text("project_name"),
                project_type=row.text("project_type"),
                serial_from=serial_from,
                serial_to=serial_to,
                quantity_t=quantity,
                purpose=row.text("purpose"),
            )
        )
    return records, errors


def _cancelled_at(row: BodyRow, tz: ZoneInfo, default_date: date | None) -> datetime | None:
    if not row.has("cancelled_at") and default_date is None:
        row.problem(f"表中没有{row.label('cancelled_at')}列")
        return None
    cell = row.cell("cancelled_at")
    try:
        moment = parse_date(cell, tz)
    except ValueError as exc:
        row.problem(f"{row.label('cancelled_at')} {exc}")
        return None
    if moment is None and default_date is not None:
        moment = datetime.combine(default_date, time(), tzinfo=tz)
    if moment is None:
        row.problem(f"{row.label('cancelled_at')}为空")
        return None
    clock = row.optional("cancelled_time", lambda c: _clock_of(c, tz))
    if clock is not None and moment.time() == time():
        moment = datetime.combine(moment.date(), clock, tzinfo=tz)
    return moment


def _clock_of(cell: Cell, tz: ZoneInfo) -> time | None:
    try:
        return parse_clock(cell)
    except ValueError:
        moment = parse_date(cell, tz)
        return None if moment is None else moment.time()


def _serials(row: BodyRow) -> tuple[str | None, str | None]:
    start, end = row.text("serial_from"), row.text("serial_to")
    if start is None and end is None:
        return row.optional("serial_range", parse_serial_range) or (None, None)
    return start, end
