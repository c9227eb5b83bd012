"""What the title rows above the header say: the 截至 date and the province."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from mail.classify import province_from_text
from mail.values import Cell, find_date, is_blank, show
from mail.vocab import text_key, vocab


def _title_cells(rows: list[list[Cell]]) -> Iterator[tuple[Cell, list[Cell]]]:
    for row in rows:
        for col, cell in enumerate(row):
            if not is_blank(cell):
                yield cell, row[col + 1 :]


def snapshot_date(rows: list[list[Cell]]) -> date | None:
    """The 截至 date of the title rows: in the same cell as the word, or in the next filled cell."""
    markers = vocab().snapshot_markers
    for cell, rest in _title_cells(rows):
        key = text_key(show(cell)) if not isinstance(cell, str) else text_key(cell)
        at = min((key.find(m) for m in markers if m in key), default=-1)
        if at < 0:
            continue
        found = find_date(key[at:])
        if found is None:
            found = next((_as_date(c) for c in rest if not is_blank(c)), None)
        if found is not None:
            return found
    return None


def _as_date(cell: Cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    return find_date(cell) if isinstance(cell, str) else None


def title_province(rows: list[list[Cell]]) -> str | None:
    for cell, _ in _title_cells(rows):
        if isinstance(cell, str) and (found := province_from_text(cell)):
            return found
    return None
