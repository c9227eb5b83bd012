"""Tables out of HTML (a mail body, or an .xls that is really a web page) with the standard parser.

Real-world HTML leaves cells and rows unclosed, so a new cell closes the previous one and a new row
the previous row; rowspan and colspan put the value in the first cell and None in the spanned ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from html.parser import HTMLParser

from mail.decode import decode_text
from mail.tables.errors import TableUnreadable
from mail.tables.limits import Limits, check_rows, too_many_html_cells, too_wide
from mail.tables.model import Cell, Table, make_table

_MAX_COLSPAN = 1000  # the HTML standard's own cap
# [^<>]: a trial from one "<meta" never runs past the next tag, so the search stays linear
# and one run of white space is never split between two \s*
_META_CHARSET = re.compile(rb"""<meta[^<>]+charset\s*=\s*(?:["']\s*)?([\w:.-]+)""", re.IGNORECASE)
_SPAN_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
# Their content is never cell text; <head> is not here because sloppy pages leave it open.
_SKIPPED = {"script", "style"}


@dataclass
class _Cell:
    rowspan: int = 1
    colspan: int = 1
    text: list[str] = field(default_factory=list)


@dataclass
class _Table:
    rows: list[list[_Cell]] = field(default_factory=list)
    caption: list[str] = field(default_factory=list)
    cell: _Cell | None = None
    in_caption: bool = False


class _Collector(HTMLParser):
    def __init__(self, limits: Limits) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[_Table] = []
        self.done: list[_Table] = []
        self.skipping = 0
        self.limits = limits
        self.cells = 0  # in every table of the document: the cap is on the work, not on one table

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "table":
            self.open.append(_Table())
        elif self.open:
            self._table_tag(self.open[-1], tag, dict(attrs))

    def _table_tag(self, table: _Table, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "tr":
            table.rows.append([])
            table.cell = None
        elif tag in ("td", "th"):
            self.cells += 1
            if self.cells > self.limits.max_html_cells:  # raised out of feed(): the rest is never read
                raise too_many_html_cells(self.limits)
            if not table.rows:
                table.rows.append([])
            table.cell = _Cell(_span(attrs.get("rowspan"), zero=0), _span(attrs.get("colspan"), zero=1))
            table.rows[-1].append(table.cell)
        elif tag == "caption":
            table.in_caption = True
        elif tag in ("br", "p", "div") and table.cell is not None:
            table.cell.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "table" and self.open:
            self.done.append(self.open.pop())
        elif self.open and tag in ("td", "th", "tr"):
            self.open[-1].cell = None
        elif self.open and tag == "caption":
            self.open[-1].in_caption = False

    def handle_data(self, data: str) -> None:
        if self.skipping or not self.open:
            return
        table = self.open[-1]
        if table.in_caption:
            table.caption.append(data)
        elif table.cell is not None:
            table.cell.text.append(data)

    def close(self) -> None:
        super().close()
        self.done.extend(reversed(self.open))  # tables never closed still count
        self.open = []


def _span(value: str | None, *, zero: int) -> int:
    """A span attribute as a number (rowspan=0 means "to the end of the table" and stays 0)."""
    digits = _SPAN_DIGITS.match((value or "").strip())
    if not digits:
        return 1
    number = int(digits.group(0))
    return min(number, _MAX_COLSPAN) if number else zero


def tables_from_html(html: str, limits: Limits | None = None) -> list[Table]:
    limits = limits or Limits()
    if len(html) > limits.max_bytes:  # characters, not bytes: a body this long is refused before parsing
        raise TableUnreadable(f"邮件正文超过 {limits.max_bytes // (1 << 20)} MB")
    parser = _Collector(limits)
    parser.feed(html)
    parser.close()
    tables: list[Table] = []
    for index, found in enumerate(parser.done, start=1):
        check_rows(len(found.rows), limits)
        table = make_table(_text(found.caption) or f"表格{index}", _layout(found.rows, limits), limits)
        if table:
            tables.append(table)
    return tables


class _Free(Enum):
    """A grid position no cell has claimed yet (a claimed one may hold None: spanned or empty)."""

    FREE = 0


def _layout(rows: list[list[_Cell]], limits: Limits) -> list[list[Cell]]:
    """Place cells on a grid, honouring spans; a span never reaches past the table's last row.

    Counting the positions cells claim bounds the grid while it is built."""
    grid: list[list[Cell | _Free]] = [[] for _ in rows]
    claimed = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while c < len(grid[r]) and grid[r][c] is not _Free.FREE:
                c += 1
            height = len(rows) - r if cell.rowspan == 0 else min(cell.rowspan, len(rows) - r)
            claimed += height * cell.colspan
            if claimed > limits.max_cells:
                raise too_wide(limits)
            for dr in range(height):
                for dc in range(cell.colspan):
                    _put(grid[r + dr], c + dc, _text(cell.text) if (dr, dc) == (0, 0) else None)
            c += cell.colspan
    return [[None if value is _Free.FREE else value for value in line] for line in grid]


def _put(row: list[Cell | _Free], column: int, value: Cell) -> None:
    if len(row) <= column:
        row.extend([_Free.FREE] * (column + 1 - len(row)))
    row[column] = value


def _text(parts: list[str]) -> str | None:
    lines = (_SPACES.sub(" ", line.replace("\xa0", " ")).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line) or None


def read(data: bytes, name: str | None, limits: Limits) -> list[Table]:
    declared = _META_CHARSET.search(data[:4096])
    return tables_from_html(
        decode_text(data, declared.group(1).decode("ascii") if declared else None), limits
    )
