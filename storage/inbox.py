"""Inbound messages: stored raw before anything else, then received → processing → done | quarantined.

Like a mail server's queue: the attempt is counted in its own transaction before the work starts, so a
message that crashes its processing is seen as such on the next run and quarantined after N attempts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import BindParameter, ColumnElement, Insert, bindparam, exists, insert, or_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from storage.engine import session_scope
from storage.models import InboundMessage

MAX_ATTEMPTS = 3
# loading options that leave the raw bytes in the database until they are read
WITHOUT_RAW = (defer(cast("QueryableAttribute[bytes]", InboundMessage.raw)),)


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Stored:
    message_pk: int
    duplicate_of: int | None  # id of the message this one repeats, when it does
    started: bool = False  # new, and its first attempt is already counted (state processing)


INBOX = InboundMessage.__table__  # type: ignore[attr-defined]


def store(
    bind: Engine | Connection,
    raw: bytes,
    *,
    source: str,
    message_id: str | None,
    sender: str | None,
    subject: str,
    sent_at: datetime | None,
    now: datetime,
    handed_in: tuple[str, str] | None = None,
) -> Stored:
    """Keep the raw bytes first. The same bytes twice are one row; a repeated Message-ID is a duplicate.
    In Core, by keys: every message passes here, and the row is not needed as an object.

    `handed_in`: (the chat, the province) of an officer who handed the message in from a chat.
    Given an engine, in a transaction of its own; given a connection, in the transaction it is in (the
    caller commits, before the message is read)."""
    digest = content_hash(raw)
    row = {
        **_NEW,
        "message_id": message_id,
        "content_hash": digest,
        "raw": raw,
        "source": source,
        "sender": sender,
        "subject": subject,
        "sent_at": sent_at,
        "received_at": now,
        "handed_in_by": handed_in[0] if handed_in else None,
        "handed_in_for": handed_in[1] if handed_in else None,
    }
    with _transaction(bind) as connection:
        # stored and marked in progress in one commit: a crash from here on counts as an attempt
        started = {**row, "state": "processing", "attempts": 1, "seen_message_id": message_id or None}
        new_pk = connection.execute(_INSERT_UNSEEN, started).scalar()
        if new_pk is not None:  # as almost every message: its bytes and Message-ID never seen
            return Stored(int(new_pk), None, started=True)
        seen = _seen(connection, digest, message_id)
        same = next((pk for pk, hashed in seen if hashed == digest), None)
        if same is not None:
            return Stored(same, same)
        earlier = seen[0][0] if seen else None  # none: the row that stopped it is gone meanwhile
        if earlier is None:
            kept = {**row, "state": "processing", "attempts": 1}
        else:
            reason = f"与第 {earlier} 号邮件的 Message-ID 相同"
            kept = {**row, "state": "done", "outcome": "duplicate", "reason": reason}
        inserted = connection.execute(_INSERT, kept).inserted_primary_key
        assert inserted is not None
        return Stored(int(inserted[0]), earlier, started=earlier is None)


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.begin() as connection:
        yield connection


# what a new row holds before anything is known of it (the model's defaults, written out for Core)
_NEW: dict[str, object] = {
    "kind": "unknown",
    "trusted": False,
    "state": "received",
    "attempts": 0,
    "rows_applied": 0,
    "row_errors": "[]",
}


# built once: every message passes here, and building a statement costs more than running it
_INSERT = insert(INBOX)


def _same(digest: BindParameter[str], message_id: BindParameter[str]) -> ColumnElement[bool]:
    """The same bytes or the same Message-ID, each by its own index (SQLite's OR of two indexes,
    PostgreSQL's bitmap OR); a NULL Message-ID matches nothing."""
    return or_(INBOX.c.content_hash == digest, INBOX.c.message_id == message_id)


_SEEN = select(INBOX.c.id, INBOX.c.content_hash).where(_same(bindparam("digest"), bindparam("message_id")))


def _insert_unseen() -> Insert:
    """The new row, in progress, unless a message with the same bytes or Message-ID is stored: one
    statement (one round trip on PostgreSQL) for what every new message does; its id, or no row."""
    names = [*_NEW, "message_id", "content_hash", "raw", "source", "sender", "subject", "sent_at",
             "received_at", "handed_in_by", "handed_in_for"]  # fmt: skip
    values = {name: bindparam(name, type_=INBOX.c[name].type) for name in names}
    seen = _same(values["content_hash"], bindparam("seen_message_id"))  # a blank Message-ID: NULL
    unseen = select(*values.values()).where(~exists().where(seen))
    return insert(INBOX).from_select(names, unseen).returning(INBOX.c.id)


_INSERT_UNSEEN = _insert_unseen()

# the SET clause is the parameters' columns
_FINISH = update(INBOX).where(INBOX.c.id == bindparam("pk")).returning(INBOX.c.message_id)


def _seen(connection: Connection, digest: str, message_id: str | None) -> list[tuple[int, str]]:
    """(id, hash) of the messages with the same bytes or the same Message-ID, oldest first."""
    rows = connection.execute(_SEEN, {"digest": digest, "message_id": message_id or None})
    return sorted((int(pk), str(hashed)) for pk, hashed in rows)


@dataclass(frozen=True)
class Finished:
    """What a message applied as data ends with: its row, written in one statement."""

    kind: str
    province: str | None
    outcome: str
    rows_applied: int
    row_errors: str
    reason: str | None


def finish(session: Session, message_pk: int, finished: Finished) -> str | None:
    """Write a trusted message's final state in the transaction that applied it, without loading it;
    returns its Message-ID."""
    values = {**vars(finished), "trusted": True, "state": "done", "pk": message_pk}
    found: str | None = session.connection().execute(_FINISH, values).scalar_one()
    return found


def raw_of(session: Session, message_pk: int) -> bytes:
    raw = session.connection().execute(select(INBOX.c.raw).where(INBOX.c.id == message_pk)).scalar_one()
    return bytes(raw)


def begin_attempt(engine: Engine, message_pk: int) -> int:
    """Mark the message in progress and count the attempt, committed before the work starts."""
    with session_scope(engine) as session:
        message = session.get(InboundMessage, message_pk)
        assert message is not None
        message.state = "processing"
        message.attempts += 1
        return message.attempts


def quarantine(
    session: Session, message_pk: int, reason: str, kind: str | None = None, province: str | None = None
) -> InboundMessage:
    message = session.get(InboundMessage, message_pk, options=WITHOUT_RAW)
    assert message is not None
    message.state, message.outcome, message.reason = "quarantined", "quarantined", reason
    message.kind = kind or message.kind
    message.province = province or message.province
    return message


def unfinished(engine: Engine) -> list[InboundMessage]:
    """Messages a crash left behind (stored, or in progress), oldest first."""
    with session_scope(engine) as session:
        query = select(InboundMessage).where(col(InboundMessage.state).in_(["received", "processing"]))
        return list(session.exec(query.order_by(col(InboundMessage.id))))


def quarantined(engine: Engine) -> list[InboundMessage]:
    with session_scope(engine) as session:
        query = select(InboundMessage).where(InboundMessage.state == "quarantined")
        return list(session.exec(query.order_by(col(InboundMessage.id))))


def get(engine: Engine, message_pk: int) -> InboundMessage | None:
    with session_scope(engine) as session:
        return session.get(InboundMessage, message_pk)


def reset_for_retry(engine: Engine, message_pk: int) -> InboundMessage | None:
    """A quarantined message goes back to the queue with its attempts cleared."""
    with session_scope(engine) as session:
        message = session.get(InboundMessage, message_pk)
        if message is None or message.state != "quarantined":
            return None
        message.state, message.attempts, message.outcome, message.reason = "received", 0, None, None
        return message


def row_errors_of(message: InboundMessage) -> list[dict[str, object]]:
    loaded = json.loads(message.row_errors or "[]")
    return loaded if isinstance(loaded, list) else []


def encode_row_errors(errors: Sequence[tuple[int, str]]) -> str:
    return json.dumps([{"row": row, "reason": reason} for row, reason in errors], ensure_ascii=False)
