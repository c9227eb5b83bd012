"""The outbox: the durable ledger of everything the bot says unprompted.

An item is written once under its unique key (audience|recipient|kind|cycle|day), so a restart, a
replayed scheduler tick or a second instance cannot write it again. Senders claim items with one atomic
UPDATE … RETURNING (with FOR UPDATE SKIP LOCKED on PostgreSQL), so two instances never send one item twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.engine import is_postgres, session_scope
from storage.models import OutboxItem

LEASE = timedelta(minutes=5)  # a claim older than this belongs to a sender that died
MAX_ATTEMPTS = 8
KEEP_TRYING = timedelta(hours=6)
ENQUEUE_ROWS = 200  # outbox rows a statement inserts


@dataclass(frozen=True)
class NewItem:
    key: str
    audience: str
    channel: str
    recipient: str
    kind: str
    body: str
    subject: str = ""
    sender: str | None = None  # an email on someone's behalf: its From
    cc: str | None = None
    attachment_name: str | None = None
    attachment: bytes | None = None


def enqueue(session: Session, items: Sequence[NewItem], now: datetime) -> int:
    """Write the items whose key is new; returns how many were new.

    In statements of ENQUEUE_ROWS rows: one INSERT of a morning's 10,000 reminders compiled 150,000
    parameters into one statement, 125 MB at its peak."""
    written = 0
    for start in range(0, len(items), ENQUEUE_ROWS):
        written += _insert_new(session, items[start : start + ENQUEUE_ROWS], now)
    return written


def _insert_new(session: Session, items: Sequence[NewItem], now: datetime) -> int:
    rows = [
        {
            "key": i.key,
            "audience": i.audience,
            "channel": i.channel,
            "recipient": i.recipient,
            "kind": i.kind,
            "subject": i.subject,
            "body": i.body,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "sender": i.sender,
            "cc": i.cc,
            "attachment_name": i.attachment_name,
            "attachment": i.attachment,
        }
        for i in items
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OutboxItem).values(rows).on_conflict_do_nothing(index_elements=["key"])
    # rowcount is -1 on PostgreSQL for a multi-row insert: count what RETURNING gives back
    return len(session.execute(statement.returning(OutboxItem.id)).all())  # type: ignore[call-overload]


def exists(session: Session, key: str) -> bool:
    return session.exec(select(OutboxItem.id).where(OutboxItem.key == key)).first() is not None


def claim(
    engine: Engine, worker: str, now: datetime, limit: int = 50, channels: Sequence[str] | None = None
) -> list[OutboxItem]:
    """Take up to `limit` due items for this worker, atomically."""
    due = and_(
        col(OutboxItem.next_attempt_at) <= now,
        or_(
            col(OutboxItem.state) == "pending",
            and_(col(OutboxItem.state) == "sending", col(OutboxItem.claimed_at) < now - LEASE),
        ),
    )
    if channels is not None:
        due = and_(due, col(OutboxItem.channel).in_(list(channels)))
    chosen = select(OutboxItem.id).where(due).order_by(col(OutboxItem.id)).limit(limit)
    if is_postgres(engine):
        chosen = chosen.with_for_update(skip_locked=True)
    statement = (
        update(OutboxItem)
        .where(col(OutboxItem.id).in_(chosen.scalar_subquery()))
        .values(state="sending", claimed_by=worker, claimed_at=now, attempts=OutboxItem.attempts + 1)
        .returning(OutboxItem)
    )
    with session_scope(engine) as session:
        if not is_postgres(engine):
            session.execute(text("SELECT 1"))  # opens the transaction before the write
        items = list(session.execute(statement).scalars())
        return sorted(items, key=lambda i: i.id or 0)


def mark_sent(engine: Engine, item_id: int, now: datetime) -> None:
    with session_scope(engine) as session:
        item = session.get(OutboxItem, item_id)
        if item is not None:
            item.state, item.sent_at, item.last_error = "sent", now, None


def mark_retry(engine: Engine, item_id: int, error: str, retry_at: datetime) -> bool:
    """Back to pending for a later try; False (and state failed) once it has failed MAX_ATTEMPTS times
    over at least KEEP_TRYING: a server that is down for an hour must not turn every queued item into a
    failure, while one that never takes a message is reported within the day."""
    with session_scope(engine) as session:
        item = session.get(OutboxItem, item_id)
        if item is None:
            return False
        item.last_error = error[:500]
        if item.attempts >= MAX_ATTEMPTS and retry_at - item.created_at >= KEEP_TRYING:
            item.state = "failed"
            return False
        item.state, item.next_attempt_at, item.claimed_by = "pending", retry_at, None
        return True


def mark_failed(engine: Engine, item_id: int, error: str) -> None:
    with session_scope(engine) as session:
        item = session.get(OutboxItem, item_id)
        if item is not None:
            item.state, item.last_error = "failed", error[:500]


def items(engine: Engine, state: str | None = None) -> list[OutboxItem]:
    with session_scope(engine) as session:
        query = select(OutboxItem)
        if state:
            query = query.where(OutboxItem.state == state)
        return list(session.exec(query.order_by(col(OutboxItem.id))))
