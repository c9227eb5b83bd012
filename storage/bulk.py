"""Inserting many rows at once: knowing the id each was given, in the order given; on PostgreSQL by COPY."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, false, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

CHUNK = 500  # keys per IN (…): SQLite caps the bound parameters of one statement


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
    insert_rows(connection, table, rows, ids)
    return ids


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], ids: Sequence[int] = ()
) -> None:
    """Insert the rows (each with the same keys), in this transaction, returning nothing; `ids`, when
    given, are the rows' ids, in their order.

    The driver is handed the values as the columns' own conversions leave them (a UTCDateTime column's
    aware time made naive UTC), without the per-row work of SQLAlchemy's executemany, which was a third
    of applying a roster on SQLite. On PostgreSQL by COPY, one stream for all of them: an executemany is
    one statement per row there (psycopg's pipeline), each bound, planned and executed on its own, which
    the server's CPU and the waits for it made a third of intake's time. Rows that leave a column to its
    default go through SQLAlchemy's insert, which fills it in.
    """
    if not rows:
        return
    names = list(rows[0])
    dialect = connection.dialect
    if _defaulted(table, names) or dialect.name not in ("sqlite", "postgresql"):
        given = [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)] if ids else rows
        connection.execute(insert(table), list(given))
        return
    binds = [(name, table.c[name].type.bind_processor(dialect)) for name in names]
    values = ([row[name] if bind is None else bind(row[name]) for name, bind in binds] for row in rows)
    if ids:
        names.append("id")
        values = ([*row_values, row_id] for row_values, row_id in zip(values, ids, strict=True))
    driver = connection.connection.dbapi_connection
    quote = dialect.identifier_preparer.quote
    columns = f"{quote(table.name)} ({', '.join(map(quote, names))})"
    if dialect.name == "sqlite":
        marks = ", ".join("?" * len(names))  # pysqlite's paramstyle
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(f"INSERT INTO {columns} VALUES ({marks})", values)  # type: ignore[arg-type]
        finally:
            cursor.close()
        return
    types = _copy_types(table, tuple(names))
    statement = f"COPY {columns} FROM STDIN" + (" (FORMAT BINARY)" if types else "")
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        if types:
            copy.set_types(types)
        for row_values in values:
            copy.write_row(row_values)


@lru_cache(maxsize=256)
def _copy_types(table: Table, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The columns' PostgreSQL types, for a binary COPY: the server parses no text and the driver formats
    none (a third less time for both). None when one is not a type the driver knows: a text COPY then."""
    from psycopg.postgres import types  # here: the reading worker, which imports this module, needs no driver

    dialect = postgresql.dialect()
    found = tuple(_SIZE.sub("", table.c[name].type.compile(dialect=dialect)).lower() for name in names)
    return found if all(types.get(name) is not None for name in found) else None


_SIZE = re.compile(r"\(\d+\)$")  # VARCHAR(18): the type is varchar


def _defaulted(table: Table, names: list[str]) -> bool:
    given = set(names)
    return any(column.default is not None and column.name not in given for column in table.columns)


def among(
    connection: Connection, column: ColumnElement[Any], keys: Sequence[Any]
) -> list[ColumnElement[bool]]:
    """Conditions that together select the rows whose `column` is one of `keys`, one query each: on
    PostgreSQL one `= ANY(array)`, a single parameter however many keys (an IN list of 500 is 500
    parameters to render, send and plan); on SQLite IN lists of at most CHUNK keys."""
    if not keys:
        return []
    if connection.dialect.name == "postgresql":
        return [column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))]
    return [column.in_(keys[start : start + CHUNK]) for start in range(0, len(keys), CHUNK)]
