"""Reading delimited text: UTF-8 (with or without BOM), GBK/GB18030, UTF-16; comma, tab or semicolon.

Cells stay text (a person may have written 1,234,567 or a credit code with leading zeros); empty
cells are None, as in the other readers."""

from __future__ import annotations

import csv
import io
from collections import Counter

from mail.sniff import text_codecs
from mail.tables.errors import TableUnreadable
from mail.tables.limits import Limits, check_rows
from mail.tables.model import Table, make_table

_DELIMITERS = (",", "\t", ";")
_SAMPLE_LINES = 50


def read(data: bytes, name: str | None, limits: Limits) -> list[Table]:
    text = decode(data)
    delimiter = sniff_delimiter(text.splitlines()[:_SAMPLE_LINES])
    rows: list[list[str]] = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        rows.append(row)
        check_rows(len(rows), limits)
    table = make_table(name or "csv", rows, limits)
    return [table] if table else []


def decode(data: bytes) -> str:
    for codec in text_codecs(data):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    raise TableUnreadable("无法识别 CSV 附件的文字编码")


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the most lines into the same number (> 1) of fields.

    Title and note rows have fewer fields than the body, so the most common width wins, not the widest."""
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if len(row) > 1]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if (count, width) > best_score:
            best, best_score = delimiter, (count, width)
    return best
