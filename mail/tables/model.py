"""What every table reader returns, and how raw cell values become `Cell`s."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mail.tables.limits import Limits, check_area

Cell = str | int | float | datetime | date | None


@dataclass
class Table:
    """One sheet (or CSV file, or HTML table).

    rows[i] is row i + 1 as the original shows it (leading empty rows and columns are kept so that
    positions match what a person sees); rows are padded with None to one width and trailing empty
    rows are dropped. A merged range holds its value in the top-left cell and None elsewhere."""

    name: str
    rows: list[list[Cell]]


def to_cell(value: object) -> Cell:
    if value is None or value == "":
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str | int | date):  # date includes datetime
        return value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def make_table(name: str, rows: Iterable[Sequence[object]], limits: Limits) -> Table | None:
    """A rectangular table of normalised cells, or None when it holds no value at all."""
    cells = [[to_cell(value) for value in row] for row in rows]
    while cells and not any(value is not None for value in cells[-1]):
        cells.pop()
    if not cells:
        return None
    width = max(_extent(row) for row in cells)
    check_area(len(cells), width, limits)  # before padding: one long row would multiply every other
    return Table(name, [row[:width] + [None] * (width - len(row[:width])) for row in cells])


def _extent(row: list[Cell]) -> int:
    for index in range(len(row), 0, -1):
        if row[index - 1] is not None:
            return index
    return 0
