"""Rows read before, by their cells: what they said, and the problems found in them.

A weekly summary is a full snapshot and a roster a full list, so most of their rows come back unchanged in
the next one (seven in ten of a weekly summary's rows in a season of 10,000 units, four in ten of the 2025
rosters'). What a row says depends only on its cells and its header (and the time zone), not on its place
or its neighbours: the reading is kept for the process (the reading worker reads one message after
another), and the row's problems are given back to it, at its new place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from mail.rows.body import BodyRow, forget_records

T = TypeVar("T")

Key = tuple[object, ...]


class Readings(Generic[T]):
    """One table's rows of one kind, read through the process's store of earlier readings."""

    # emptied at this many: above the 22,000 different rows of rosters and summaries a season of 10,000
    # units brings (some 40 MB of the reading worker's memory, under its own limit, read_memory_mb)
    MAX_ROWS = 50_000
    _known: ClassVar[dict[Key, tuple[object, tuple[str, ...]]]] = {}

    def __init__(self, kind: str, read: Callable[..., T], *context: object) -> None:
        """`read(row, *context)` reads a row anew; the context (hashable) is part of what a reading is
        kept under, beside the header and the cells."""
        self._kind, self._read, self._context = kind, read, context

    def read(self, row: BodyRow) -> T:
        key = (self._kind, self._context, row.key)
        known = self._known.get(key)
        if known is not None:
            row.problems.extend(known[1])
            return known[0]  # type: ignore[return-value]
        reading: T = self._read(row, *self._context)
        if len(self._known) >= self.MAX_ROWS:
            self._known.clear()
        self._known[key] = (reading, tuple(row.problems))
        return reading

    @classmethod
    def forget(cls) -> None:
        cls._known.clear()
        forget_records()
