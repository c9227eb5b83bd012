"""Attachment bytes to plain tables: xlsx, xls, csv, html, and a zip of those.

Every failure is a TableUnreadable whose reason (Chinese) can go back to the sender as it is."""

from __future__ import annotations

from mail.sniff import sniff
from mail.tables import zipped
from mail.tables.dispatch import guarded, read_kind
from mail.tables.errors import TableUnreadable
from mail.tables.html import tables_from_html
from mail.tables.limits import Limits, too_large
from mail.tables.model import Cell, Table

__all__ = ["Cell", "Limits", "Table", "TableUnreadable", "read_tables", "tables_from_html"]

_DEFAULT_LIMITS = Limits()


def read_tables(
    data: bytes, filename: str | None, content_type: str | None, limits: Limits = _DEFAULT_LIMITS
) -> list[Table]:
    """Every table with data in the attachment (an empty list when it holds none)."""
    if len(data) > limits.max_bytes:
        raise too_large(limits)
    kind = sniff(data, filename, content_type)
    if kind == "zip":
        return guarded("zip", zipped.read, data, filename, limits)
    return read_kind(kind, data, filename, limits)
