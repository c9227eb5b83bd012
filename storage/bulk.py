"""Inserting many rows in one statement and knowing the id each was given, in the order given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, false, func, insert, select, update
from sqlalchemy.engine import Connection


def insert_ids(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert the rows in one executemany; their ids, ascending in the rows' order.

    An INSERT … RETURNING that must keep the rows' order is run row by row on SQLite (its RETURNING order
    is not guaranteed) and costs three times a plain insert on PostgreSQL, so the ids are chosen first:
    on SQLite the ones it would give itself, max(id) + 1 onwards (a row id table without AUTOINCREMENT),
    read once this transaction holds the write lock, so that no other writer can take them meanwhile (the
    driver begins a transaction only at a write: a statement that changes nothing takes the lock); on
    PostgreSQL drawn from the table's sequence.
    """
    if not rows:
        return []
    if connection.dialect.name == "sqlite":
        connection.execute(update(table).where(false()).values({table.c.id: table.c.id}))
        top = connection.execute(select(func.max(table.c.id))).scalar() or 0
        ids = list(range(top + 1, top + 1 + len(rows)))
    else:
        sequence = func.pg_get_serial_sequence(table.name, "id")
        drawn = select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
        ids = sorted(connection.execute(drawn).scalars())
    connection.execute(insert(table), [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)])
    return ids
