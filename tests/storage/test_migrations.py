"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.engine import make_engine, session_scope
from storage.inbox import raw_of, store
from storage.migrate import (
    alembic_config,
    current_revision,
    ensure_current,
    head_revision,
    newest_revision_in_files,
    upgrade,
)
from tests.db import database_url


def test_the_upgraded_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)
    assert upgrade(engine) == head_revision(engine)
    assert current_revision(engine) == head_revision(engine)


def test_the_newest_revision_read_from_the_files_is_alembics_head(engine: Engine) -> None:
    assert newest_revision_in_files() == head_revision(engine)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_database_that_is_not_current_is_upgraded_on_first_use(kind: str, tmp_path: Path) -> None:
    """Empty, or at an older revision: ensure_current upgrades it (through alembic) to the head."""
    with database_url(kind, tmp_path) as url:
        empty = make_engine(url)
        ensure_current(empty)
        assert current_revision(empty) == head_revision(empty)
        command.downgrade(alembic_config(empty), "-1")
        older = current_revision(empty)
        assert older is not None and older != head_revision(empty)
        ensure_current(empty)
        assert current_revision(empty) == head_revision(empty)
        empty.dispose()


CHECK_CURRENT = """
import sys
from storage.engine import make_engine, session_scope
from storage.inbox import raw_of, store
from storage.migrate import ensure_current
ensure_current(make_engine(sys.argv[1]))
print("alembic" in sys.modules)
"""


def test_a_current_database_is_known_as_such_without_loading_alembic(engine: Engine) -> None:
    """The service looks once at start-up: alembic and what it loads (11 MB) are not kept for that."""
    url = engine.url.render_as_string(hide_password=False)
    checked = subprocess.run(
        [sys.executable, "-c", CHECK_CURRENT, url], capture_output=True, text=True, check=True
    )
    assert checked.stdout.split() == ["False"]


def test_raw_messages_are_compressed_with_lz4_on_postgresql(engine: Engine) -> None:
    """Storing each message whole is intake's first step: lz4 costs the server's CPU less than pglz."""
    raw = b"Subject: x\r\n\r\n" + b"UEsDBBQAAAAIAA" * 2000  # base64 of a spreadsheet compresses, as mail does
    stored = store(engine, raw, source="x.eml", message_id=None, sender=None, subject="x", sent_at=None,
                   now=datetime(2026, 12, 5, tzinfo=UTC))  # fmt: skip
    with session_scope(engine) as session:
        assert raw_of(session, stored.message_pk) == raw
        if engine.dialect.name != "postgresql":
            return
        method = session.execute(
            text("SELECT pg_column_compression(raw) FROM inboundmessage WHERE id = :id"),
            {"id": stored.message_pk},
        ).scalar()
    assert method == "lz4"
