"""A plain table (rows of cells) to typed records and row errors.

The table is what a reader made of one sheet: `list[list[Cell]]`, row 0 being the sheet's first row,
merged cells holding their value in the top-left cell and None elsewhere. Title rows may sit above the
header row; empty, total and note rows may sit among or below the records.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from mail.records import MessageKind, ParsedTable
from mail.rows.body import body_rows
from mail.rows.cancellations import cancellation_records
from mail.rows.header import locate_header
from mail.rows.operation_rows import operation_records
from mail.rows.roster import all_complied, roster_records
from mail.rows.titles import snapshot_date, title_province
from mail.rows.weekly import weekly_records
from mail.values import Cell
from mail.vocab import vocab

__all__ = ["all_complied", "parse_table", "snapshot_date"]


def parse_table(
    rows: list[list[Cell]],
    *,
    kind_hint: MessageKind | None,
    tz: ZoneInfo,
    default_date: date | None = None,
) -> ParsedTable:
    """Records and row errors of one table; `default_date` dates cancellations whose date cell is blank."""
    header = locate_header(rows, kind_hint=kind_hint)
    if header is None:
        top = rows[: vocab().scan_rows]
        return ParsedTable("unknown", 0, snapshot_date=snapshot_date(top), province_hint=title_province(top))
    table = ParsedTable(
        header.kind,
        header.index + 1,
        snapshot_date=snapshot_date(rows[: header.index]),
        province_hint=title_province(rows[: header.index]),
    )
    body = body_rows(rows, header)
    table.header_obligations = tuple(
        dict.fromkeys(y for label in header.labels.values() if (y := vocab().header_year(label)) is not None)
    )
    if header.kind == "roster":
        table.records, table.row_errors = roster_records(body, header)
    elif header.kind == "weekly_summary":
        table.records, table.row_errors, table.refused_units = weekly_records(body, tz)
    elif header.kind == "cancellation_list":
        table.records, table.row_errors = cancellation_records(body, tz, default_date)
    elif header.kind == "offset_operations":
        table.records, table.row_errors = operation_records(body, tz, default_date)
    return table
