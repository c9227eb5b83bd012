"""Reading old .xls (BIFF) with xlrd.

xlrd rather than calamine: it refuses an encrypted workbook (FILEPASS) instead of reading garbage,
and with `ignore_workbook_corruption` it opens the irregular compound files WPS writes
("Workbook corruption: seen[2] == 4"). An .xls holds at most 65,536 rows, so its speed is enough."""

from __future__ import annotations

import io

import xlrd
from xlrd.sheet import Sheet

from mail.tables.errors import TableUnreadable
from mail.tables.limits import Limits, check_area, check_rows
from mail.tables.model import Table, make_table


def read(data: bytes, name: str | None, limits: Limits) -> list[Table]:
    try:
        book = xlrd.open_workbook(file_contents=data, ignore_workbook_corruption=True, logfile=io.StringIO())
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise TableUnreadable("附件已加密") from exc
        raise
    tables = (_sheet(sheet, book.datemode, limits) for sheet in book.sheets() if sheet.visibility == 0)
    return [table for table in tables if table]


def _sheet(sheet: Sheet, datemode: int, limits: Limits) -> Table | None:
    check_rows(sheet.nrows, limits)
    check_area(sheet.nrows, sheet.ncols, limits)
    rows = [
        [
            _value(kind, value, datemode)
            for kind, value in zip(sheet.row_types(r), sheet.row_values(r), strict=True)
        ]
        for r in range(sheet.nrows)
    ]
    return make_table(sheet.name, rows, limits)


def _value(kind: int, value: object, datemode: int) -> object:
    if kind == xlrd.XL_CELL_DATE and isinstance(value, float):
        return _date(value, datemode)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR and isinstance(value, int):
        return xlrd.error_text_from_code.get(value, "#ERR")
    return value


def _date(value: float, datemode: int) -> object:
    try:
        moment = xlrd.xldate_as_datetime(value, datemode)
    except (ValueError, OverflowError):
        return value  # outside Excel's calendar: show the number the cell holds
    return moment.date() if moment.time() == moment.min.time() else moment
