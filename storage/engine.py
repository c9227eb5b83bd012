"""Engines and sessions: SQLite by default (WAL, foreign keys on), PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine


class DatabaseError(RuntimeError):
    """A database that cannot be reached or used, said in one line."""


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, create_directory: bool = False) -> Engine:
    """An engine for the URL. A SQLite file's directory must exist unless `create_directory` (the demo's and
    the default `var/`): a mistyped path is an error, not a new empty database somewhere."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, create_directory)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: str, database: str | None, create_directory: bool) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).parent
        if create_directory:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise DatabaseError(
                f"数据库 {url} 所在的目录 {folder} 不存在：请先创建它，或用 --db 指向已有的目录"
            )
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_postgres(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def commit_without_waiting(session: Session) -> None:
    """This transaction writes only what can be written again from rows committed before it (a stored
    message's outcome, which `resume` redoes when it is lost): on PostgreSQL its commit does not wait for
    the disk (synchronous_commit off for this transaction alone). A crash of the database server a moment
    after it may undo the whole transaction, never part of it, and the next commit that waits for the
    disk makes it durable too. SQLite's commits (WAL, synchronous=NORMAL) never wait for it."""
    if is_postgres(session.get_bind()):
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def snapshot_scope(engine: Engine) -> Iterator[Session]:
    """One read-only transaction that sees one state of the database from its first statement to its
    last, while intake commits meanwhile: a report read in several statements is of one moment. Under
    PostgreSQL's READ COMMITTED, and with pysqlite (which begins a transaction only before a write), each
    statement would see the state of its own moment: a unit's applications after a message, its
    cancellations before it."""
    if is_postgres(engine):
        with Session(engine.execution_options(isolation_level="REPEATABLE READ")) as session:
            try:
                yield session
            finally:
                session.rollback()
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN")  # SQLite in WAL: the snapshot is taken at the first read
        with Session(connection) as session:
            try:
                yield session
            finally:
                connection.rollback()
