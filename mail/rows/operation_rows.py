"""The rows of an offset-operations list (抵销操作): one operation each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

from mail.records import OperationRecord, Record, RowError
from mail.rows.body import BodyRow
from mail.values import is_blank, parse_date, show
from mail.vocab import vocab


def operation_records(
    rows: Iterator[BodyRow], tz: ZoneInfo, default_date: date | None
) -> tuple[list[Record], list[RowError]]:
    records: list[Record] = []
    errors: list[RowError] = []
    words = vocab()
    for row in rows:
        name, code = row.identity("name")
        operated_on = _operated_on(row, tz, default_date)
        quantity = row.amount("op_quantity_t", required=True)
        state = row.status("op_state", words.operation_words)
        if state is None and row.text("op_state") is None:
            missing = "为空" if row.has("op_state") else "列缺失"
            row.problem(f"{row.label('op_state')}{missing}")
        obligation = _obligation(row)
        ccer_kind = row.status("ccer_kind", words.ccer_kind_words, "CCER类型")
        if row.problems or operated_on is None or quantity is None or state is None:
            errors.append(row.error())
            continue
        records.append(
            OperationRecord(
                row=row.number,
                operated_on=operated_on,
                name=name or "",
                code=code,
                project_no=row.text("project_no"),
                project_name=row.text("project_name"),
                project_type=row.text("project_type"),
                obligation=obligation,
                quantity_t=quantity,
                state=state,
                operation_no=row.text("operation_no"),
                ccer_kind=ccer_kind,
            )
        )
    return records, errors


def _operated_on(row: BodyRow, tz: ZoneInfo, default_date: date | None) -> date | None:
    try:
        moment = parse_date(row.cell("operated_on"), tz)
    except ValueError as exc:
        row.problem(f"{row.label('operated_on')} {exc}")
        return None
    if moment is not None:
        return moment.date()
    if default_date is None:
        row.problem(f"{row.label('operated_on')}为空")
    return default_date


def _obligation(row: BodyRow) -> str | None:
    """抵销年度: a year ("2025", "2025年度", a number cell) or the first cycle's span ("2019-2020")."""
    cell = row.cell("offset_year")
    if is_blank(cell):
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = show(cell)
    found = vocab().obligation(text)
    if found is None:
        row.problem(f"{row.label('offset_year')} {text} 不是可识别的年度")
    return found
