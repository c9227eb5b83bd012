"""Databases for tests: a fresh SQLite file, or a fresh schema on the PostgreSQL named by
CCERBOT_TEST_POSTGRES_URL (skipped, and said so, when it is not set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from storage.engine import make_engine, normalise_url
from storage.migrate import upgrade

POSTGRES_ENV = "CCERBOT_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def skip_without_postgres() -> None:
    if not postgres_url():
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped")


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections live in a new, empty schema, dropped afterwards."""
    with schema_url(postgres_url() or "") as url:
        yield url


@contextmanager
def schema_url(base: str, prefix: str = "t") -> Iterator[str]:
    """A URL on the PostgreSQL at `base` whose connections live in a new, empty schema, dropped afterwards.
    No connection is kept open in between, so that it survives a restart of the server."""
    base = normalise_url(base)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'test.db'}"
        return
    skip_without_postgres()
    with postgres_schema_url() as url:
        yield url


@contextmanager
def upgraded_engine(kind: str, folder: Path) -> Iterator[Engine]:
    with database_url(kind, folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement the engine sends while the block runs."""
    said: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        said.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield said
    finally:
        event.remove(engine, "before_cursor_execute", count)


@dataclass
class Transaction:
    """The statements one committed transaction sent, and whether its commit waited for the disk
    (PostgreSQL's synchronous_commit as it stood at the commit; None on SQLite)."""

    statements: list[str] = field(default_factory=list)
    waited: bool | None = None

    def sent(self, prefix: str) -> int:
        return sum(statement.startswith(prefix) for statement in self.statements)


@contextmanager
def transactions(engine: Engine) -> Iterator[list[Transaction]]:
    """Every transaction the engine commits while the block runs, in the order of their commits."""
    committed: list[Transaction] = []
    open_: dict[int, Transaction] = {}

    def begin(connection: Any) -> None:
        open_[id(connection)] = Transaction()

    def said(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (transaction := open_.get(id(connection))) is not None:
            transaction.statements.append(statement)

    def commit(connection: Any) -> None:
        if (transaction := open_.pop(id(connection), None)) is None:
            return
        if connection.dialect.name == "postgresql":
            transaction.waited = connection.exec_driver_sql("SHOW synchronous_commit").scalar() != "off"
        committed.append(transaction)

    def rollback(connection: Any) -> None:
        open_.pop(id(connection), None)

    listeners = {"begin": begin, "before_cursor_execute": said, "commit": commit, "rollback": rollback}
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        yield committed
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)
