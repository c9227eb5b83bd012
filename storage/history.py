"""A unit's history at an instant: its application and what became of it, each cancellation, what each
roster said of its compliance — each with the message it came from, so an officer can find the mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlmodel import Session, col, select

from compliance.status import ApplicationLine as Line
from compliance.status import application_state, confirmed_amount
from storage.models import (
    ApplicationLine,
    CancellationRecord,
    InboundMessage,
    RosterEntry,
    WeeklySnapshot,
)
from storage.state import matched_by

EventKind = Literal[
    "applied", "confirmed", "rejected", "pending", "withdrawn", "cancelled", "complied", "not_complied"
]


@dataclass(frozen=True)
class Source:
    """The message a fact came from, as an officer finds it in the mailbox."""

    id: int
    subject: str
    sent_at: datetime | None


@dataclass(frozen=True)
class Event:
    when: datetime | date  # a cancellation's instant; a snapshot's as-of date; a roster's date
    kind: EventKind
    amount_t: int | None
    source: Source


def unit_history(session: Session, unit_id: int, province: str, at: datetime) -> list[Event]:
    """Everything known at `at` that changed the unit's state, oldest first."""
    events = _applications(session, unit_id, province, at)
    events += _cancellations(session, unit_id, at)
    events += _rosters(session, unit_id, at)
    sources = _sources(session, {e.source.id for e in events})
    events = [Event(e.when, e.kind, e.amount_t, sources.get(e.source.id, e.source)) for e in events]
    return sorted(events, key=lambda e: (_instant(e.when, at), e.source.id))


def _instant(when: datetime | date, at: datetime) -> datetime:
    if isinstance(when, datetime):
        return when
    return datetime(when.year, when.month, when.day, tzinfo=at.tzinfo)


def _placeholder(message_pk: int) -> Source:
    return Source(message_pk, "", None)


def _applications(session: Session, unit_id: int, province: str, at: datetime) -> list[Event]:
    """The unit's application as successive weekly summaries show it: an event each time its state changes."""
    snapshots = session.exec(
        select(WeeklySnapshot)
        .where(
            WeeklySnapshot.province == province,
            WeeklySnapshot.known_at <= at,
            col(WeeklySnapshot.superseded).is_(False),
        )
        .order_by(col(WeeklySnapshot.as_of), col(WeeklySnapshot.known_at), col(WeeklySnapshot.id))
    ).all()
    if not snapshots:
        return []
    rows = session.exec(
        select(ApplicationLine)
        .where(
            col(ApplicationLine.snapshot_id).in_([s.id for s in snapshots]),
            ApplicationLine.unit_id == unit_id,
            matched_by(ApplicationLine.matched_at, at),
        )
        .order_by(col(ApplicationLine.id))
    ).all()
    by_snapshot: dict[int, list[Line]] = {}
    for row in rows:
        by_snapshot.setdefault(row.snapshot_id, []).append(
            Line(
                row.project_no,
                row.project_name,
                row.vintage_start,
                row.vintage_end,
                row.requested_t,
                row.confirmed_t,
                row.result,  # type: ignore[arg-type]
            )
        )
    events: list[Event] = []
    before = "none"
    for snapshot in snapshots:
        lines = by_snapshot.get(snapshot.id or 0, [])
        state = application_state(lines)
        source = _placeholder(snapshot.message_pk)
        if state != before:
            if before == "none":
                events.append(Event(snapshot.as_of, "applied", sum(x.requested_t for x in lines), source))
            if state == "confirmed":
                events.append(Event(snapshot.as_of, "confirmed", confirmed_amount(lines), source))
            elif state == "none":
                events.append(Event(snapshot.as_of, "withdrawn", None, source))
            elif state == "rejected" or before != "none":  # rejected, or pending again (resubmitted)
                events.append(Event(snapshot.as_of, state, None, source))
        before = state
    return events


def _cancellations(session: Session, unit_id: int, at: datetime) -> list[Event]:
    records = session.exec(
        select(CancellationRecord).where(
            CancellationRecord.unit_id == unit_id,
            CancellationRecord.known_at <= at,
            matched_by(CancellationRecord.matched_at, at),
        )
    ).all()
    return [Event(r.cancelled_at, "cancelled", r.quantity_t, _placeholder(r.message_pk)) for r in records]


def _rosters(session: Session, unit_id: int, at: datetime) -> list[Event]:
    """What the rosters said of the unit's compliance, each time it changed."""
    entries = session.exec(
        select(RosterEntry)
        .where(
            RosterEntry.unit_id == unit_id, RosterEntry.known_at <= at, col(RosterEntry.complied).is_not(None)
        )
        .order_by(col(RosterEntry.known_at), col(RosterEntry.id))
    ).all()
    events: list[Event] = []
    before: bool | None = None
    for entry in entries:
        if entry.complied != before:
            kind: EventKind = "complied" if entry.complied else "not_complied"
            events.append(Event(entry.known_at, kind, entry.surrendered_t, _placeholder(entry.message_pk)))
        before = entry.complied
    return events


def _sources(session: Session, ids: set[int]) -> dict[int, Source]:
    if not ids:
        return {}
    query = select(
        InboundMessage.id, InboundMessage.subject, InboundMessage.sent_at, InboundMessage.received_at
    )
    found = session.exec(query.where(col(InboundMessage.id).in_(list(ids))))
    return {pk or 0: Source(pk or 0, subject, sent or received) for pk, subject, sent, received in found}
