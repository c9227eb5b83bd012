"""Inserting many rows at once: knowing the id each was given, in the order given; on PostgreSQL by COPY."""

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
    insert_rows(connection, table, [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)])
    return ids


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows (each with the same keys), in this transaction, returning nothing.

    On PostgreSQL by COPY, one stream for all of them: an executemany is one statement per row there
    (psycopg's pipeline), each bound, planned and executed on its own, which the server's CPU and the
    waits for it made a third of intake's time. Elsewhere one executemany.
    """
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    dialect = connection.dialect
    # what an INSERT would do to each value first (a UTCDateTime column's aware time made naive UTC)
    binds = [(name, table.c[name].type.bind_processor(dialect)) for name in names]
    quote = dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(map(quote, names))}) FROM STDIN"
    with connection.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[name] if bind is None else bind(row[name]) for name, bind in binds])
