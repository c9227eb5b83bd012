"""How much an attachment may hold before it is refused, and the refusals themselves."""

from __future__ import annotations

from dataclasses import dataclass

from mail.tables.errors import TableUnreadable

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * MiB
    max_rows: int = 200_000
    max_zip_ratio: int = 100
    max_zip_total: int = 100 * MiB
    max_zip_members: int = 50
    # rows × columns of one table: a 5 kB .xlsx with cells at A1 and XFD100000 asks the reader for
    # 1.6 billion cells (the process aborts, nothing to catch), so the area is checked before reading.
    max_cells: int = 10_000_000
    # <td>/<th> tags of an HTML body or file, counted while it is read: the pure-Python parser costs about
    # 13 µs and 250 bytes a cell, so 4 million cells would hold the process for a minute (a real table
    # sent as HTML has a few thousand rows of a dozen columns).
    max_html_cells: int = 250_000
    # Below this size a high ratio is harmless: a small file of blanks compresses far better than 100:1.
    zip_ratio_floor: int = 1 * MiB


def too_large(limits: Limits) -> TableUnreadable:
    return TableUnreadable(f"附件超过 {limits.max_bytes / MiB:g} MB")


def too_many_rows(limits: Limits) -> TableUnreadable:
    return TableUnreadable(f"行数超过 {limits.max_rows}")


def too_expanded() -> TableUnreadable:
    return TableUnreadable("压缩包展开后过大")


def check_rows(count: int, limits: Limits) -> None:
    if count > limits.max_rows:
        raise too_many_rows(limits)


def too_wide(limits: Limits) -> TableUnreadable:
    return TableUnreadable(f"表格范围过大（超过 {limits.max_cells} 个单元格）")


def too_many_html_cells(limits: Limits) -> TableUnreadable:
    return TableUnreadable(f"HTML 表格的单元格超过 {limits.max_html_cells} 个")


def check_area(rows: int, columns: int, limits: Limits) -> None:
    if rows * columns > limits.max_cells:
        raise too_wide(limits)
