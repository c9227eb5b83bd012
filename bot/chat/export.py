"""A province's units as an xlsx workbook: one row a unit, every field the bot knows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports import UnitReport
from compliance.status import UnitStatus
from templates import label, step_label

COLUMNS = (
    "code",
    "name",
    "province",
    "sector",
    "obligation",
    "allowances_due_t",
    "offset_cap_t",
    "application",
    "requested_t",
    "confirmed_t",
    "cancelled_t",
    "to_cancel_t",
    "held_t",
    "used_t",
    "to_surrender_t",
    "complied",
    "next_step",
    "next_deadline",
    "anomalies",
    "contact_email",
)
TONNES = frozenset(
    {
        "allowances_due_t",
        "offset_cap_t",
        "requested_t",
        "confirmed_t",
        "cancelled_t",
        "to_cancel_t",
        "held_t",
        "used_t",
        "to_surrender_t",
    }
)
WIDTHS = {
    "code": 22,
    "name": 36,
    "province": 12,
    "next_step": 40,
    "next_deadline": 18,
    "anomalies": 40,
    "contact_email": 28,
    "application": 12,
    "complied": 10,
}
_FORBIDDEN_IN_SHEET_NAME = str.maketrans({c: "_" for c in "[]:*?/\\"})


def rows_of(unit: UnitReport, lang: str, tz: ZoneInfo) -> list[dict[str, Any]]:
    """One row a unit; a unit of a cycle with several obligation years, one row each year."""
    return [values(unit, lang, tz, year) for year in unit.status.years or (unit.status,)]


def values(unit: UnitReport, lang: str, tz: ZoneInfo, s: UnitStatus | None = None) -> dict[str, Any]:
    s = s or unit.status
    deadline = s.next_deadline.astimezone(tz).replace(tzinfo=None) if s.next_deadline else None
    return {
        "code": unit.code,
        "name": unit.name,
        "province": unit.province,
        "sector": label("sector", unit.sector, lang) if unit.sector else "",
        "obligation": s.obligation or "",
        "allowances_due_t": s.allowances_due_t if s.allowances_due_t is not None else unit.allowances_due_t,
        "offset_cap_t": s.offset_cap_t,
        "application": label("application", s.application, lang),
        "requested_t": s.requested_t,
        "confirmed_t": s.confirmed_t,
        "cancelled_t": s.cancelled_t,
        "to_cancel_t": s.to_cancel_t,
        "held_t": s.held_t,
        "used_t": s.used_t,
        "to_surrender_t": s.to_surrender_t,
        "complied": label("chat_yesno", "yes" if s.complied else "no", lang),
        "next_step": step_label(s.next_step, s, lang),
        "next_deadline": deadline,
        "anomalies": "\n".join(label("anomaly", a, lang) for a in s.anomalies),
        "contact_email": unit.contact_email or "",
    }


def province_workbook(
    units: Sequence[UnitReport], lang: str, tz: ZoneInfo, sheet: str, at: datetime
) -> bytes:
    # openpyxl (and the numpy it loads) only once someone exports: ~20 MB a service need not hold
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet.translate(_FORBIDDEN_IN_SHEET_NAME)[:31] or "units"
    ws.append([label("chat_column", c, lang) for c in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    written = 0
    for unit in units:
        for row in rows_of(unit, lang, tz):
            ws.append([row[c] for c in COLUMNS])
            _as_text(ws[ws.max_row])
            written += 1
    _format(ws, written)
    book.properties.title = sheet
    book.properties.created = at.astimezone(tz).replace(tzinfo=None)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _as_text(cells: Sequence[Any]) -> None:
    """Names and words come from mail: a cell "=HYPERLINK(…)" must stay those characters, never a formula
    (openpyxl writes any string starting with "=" as one). quotePrefix keeps it text when edited, too."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type, cell.quotePrefix = "s", True


def _format(ws: Any, rows: int) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "C2"
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = WIDTHS.get(column, 14)
        for (cell,) in ws.iter_rows(min_row=2, max_row=rows + 1, min_col=index, max_col=index):
            if column in TONNES:
                cell.number_format = "#,##0"
            elif column == "next_deadline":
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif column in ("anomalies", "next_step"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
