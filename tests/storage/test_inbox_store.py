"""Storing a message first: a new one in one statement, the same bytes once, a repeated Message-ID kept
as a duplicate, a blank Message-ID matching nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.inbox import INBOX, Stored, store
from tests.db import statements

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def _store(engine: Engine, raw: bytes, message_id: str | None) -> Stored:
    return store(engine, raw, source="x.eml", message_id=message_id, sender="a@example.cn", subject="s",
                 sent_at=None, now=NOW)  # fmt: skip


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        query = select(INBOX.c.id, INBOX.c.state, INBOX.c.attempts, INBOX.c.outcome).order_by(INBOX.c.id)
        return [tuple(row) for row in connection.execute(query)]


def test_a_new_message_is_stored_in_progress_in_one_statement(engine: Engine) -> None:
    with statements(engine) as said:
        stored = _store(engine, b"Subject: a\r\n\r\nfirst", "<a@example.cn>")
    assert len(said) == 1
    assert stored == Stored(stored.message_pk, None, started=True)
    assert _rows(engine) == [(stored.message_pk, "processing", 1, None)]


def test_the_same_bytes_are_one_message_and_a_repeated_message_id_a_duplicate(engine: Engine) -> None:
    first = _store(engine, b"Subject: a\r\n\r\nfirst", "<a@example.cn>")
    again = _store(engine, b"Subject: a\r\n\r\nfirst", "<other@example.cn>")
    resent = _store(engine, b"Subject: a\r\n\r\nchanged", "<a@example.cn>")
    assert again == Stored(first.message_pk, first.message_pk)
    assert (resent.duplicate_of, resent.started) == (first.message_pk, False)
    assert _rows(engine) == [
        (first.message_pk, "processing", 1, None),
        (resent.message_pk, "done", 0, "duplicate"),
    ]


def test_a_blank_message_id_matches_nothing(engine: Engine) -> None:
    one = _store(engine, b"Subject: a\r\n\r\none", "")
    two = _store(engine, b"Subject: a\r\n\r\ntwo", "")
    assert (one.started, two.started, two.duplicate_of) == (True, True, None)
