"""The facts known about units at an instant, read in bulk, shaped for compliance.unit_status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from compliance.status import ApplicationLine as Line
from compliance.status import Cancellation, UnitFacts
from storage.models import ApplicationLine, CancellationRecord, RosterEntry, Unit, WeeklySnapshot


@dataclass(frozen=True)
class KnownUnit:
    """A unit as the latest roster known at the instant describes it."""

    unit: Unit
    province: str
    name: str
    allowances_due_t: int | None
    complied: bool | None
    surrendered_t: int | None
    contact_email: str | None


def known_units(
    session: Session, at: datetime, province: str | None = None, codes: Iterable[str] | None = None
) -> list[KnownUnit]:
    """Units that a roster known at `at` lists, folded over every roster entry up to then."""
    query = (
        select(RosterEntry, Unit)
        .join(Unit, col(Unit.id) == RosterEntry.unit_id)
        .where(RosterEntry.known_at <= at)
        .order_by(col(RosterEntry.known_at), col(RosterEntry.id))
    )
    if codes is not None:
        query = query.where(col(Unit.code).in_(list(codes)))
    folded: dict[int, KnownUnit] = {}
    for entry, unit in session.exec(query):
        folded[unit.id or 0] = _fold(folded.get(unit.id or 0), entry, unit)
    units = [k for k in folded.values() if province in (None, "*") or k.province == province]
    return sorted(units, key=lambda k: (k.province, k.unit.code))


def _fold(known: KnownUnit | None, entry: RosterEntry, unit: Unit) -> KnownUnit:
    def keep(new: object, old: object) -> object:
        return old if new is None else new

    if known is None:
        return KnownUnit(
            unit,
            entry.province,
            entry.name,
            entry.allowances_due_t,
            entry.complied,
            entry.surrendered_t,
            entry.contact_email,
        )
    return KnownUnit(
        unit,
        entry.province,
        entry.name,
        keep(entry.allowances_due_t, known.allowances_due_t),  # type: ignore[arg-type]
        keep(entry.complied, known.complied),  # type: ignore[arg-type]
        keep(entry.surrendered_t, known.surrendered_t),  # type: ignore[arg-type]
        keep(entry.contact_email, known.contact_email),  # type: ignore[arg-type]
    )


def latest_snapshots(session: Session, at: datetime, provinces: Iterable[str]) -> dict[str, WeeklySnapshot]:
    """Per province, the weekly snapshot with the newest as-of date among those known at `at`."""
    wanted = set(provinces)
    query = (
        select(WeeklySnapshot)
        .where(WeeklySnapshot.known_at <= at, col(WeeklySnapshot.province).in_(wanted))
        .order_by(col(WeeklySnapshot.as_of), col(WeeklySnapshot.known_at), col(WeeklySnapshot.id))
    )
    return {snap.province: snap for snap in session.exec(query)}


def matched_by(matched_at: Any, at: datetime) -> ColumnElement[bool]:
    """A record matched to its unit by `at`: at intake, or by a roster known then."""
    return or_(col(matched_at).is_(None), col(matched_at) <= at)


def lines_by_unit(
    session: Session,
    snapshot_ids: Sequence[int],
    unit_ids: Sequence[int] | None = None,
    at: datetime | None = None,
) -> dict[tuple[int, int], list[Line]]:
    """Application lines by (snapshot, unit): a unit counts only its own province's snapshot.

    `unit_ids`: only those units' lines (one unit's status need not read its whole province's summary).
    `at`: only lines matched to their unit by then (a line a later roster matched was nobody's before).
    """
    grouped: dict[tuple[int, int], list[Line]] = defaultdict(list)
    if not snapshot_ids:
        return grouped
    query = (
        select(ApplicationLine)
        .where(
            col(ApplicationLine.snapshot_id).in_(list(snapshot_ids)),
            col(ApplicationLine.unit_id).is_not(None),
        )
        .order_by(col(ApplicationLine.id))
    )
    if unit_ids is not None:
        query = query.where(col(ApplicationLine.unit_id).in_(list(unit_ids)))
    if at is not None:
        query = query.where(matched_by(ApplicationLine.matched_at, at))
    for line in session.exec(query):
        grouped[(line.snapshot_id, line.unit_id or 0)].append(
            Line(
                line.project_no,
                line.project_name,
                line.vintage_start,
                line.vintage_end,
                line.requested_t,
                line.confirmed_t,
                line.result,  # type: ignore[arg-type]
            )
        )
    return grouped


def cancellations_by_unit(
    session: Session, at: datetime, unit_ids: Sequence[int]
) -> dict[int, list[Cancellation]]:
    grouped: dict[int, list[Cancellation]] = defaultdict(list)
    if not unit_ids:
        return grouped
    query = select(CancellationRecord).where(
        CancellationRecord.known_at <= at,
        col(CancellationRecord.unit_id).in_(list(unit_ids)),
        matched_by(CancellationRecord.matched_at, at),
    )
    for record in session.exec(query):
        grouped[record.unit_id or 0].append(Cancellation(record.quantity_t, record.cancelled_at))
    return grouped


def facts_at(
    session: Session, at: datetime, province: str | None = None, codes: Iterable[str] | None = None
) -> list[tuple[KnownUnit, UnitFacts]]:
    """Everything compliance needs about the selected units at `at`, in four queries."""
    units = known_units(session, at, province, codes)
    snapshots = latest_snapshots(session, at, {k.province for k in units})
    chosen = None if codes is None else [k.unit.id or 0 for k in units]
    lines = lines_by_unit(session, [s.id for s in snapshots.values() if s.id is not None], chosen, at)
    cancels = cancellations_by_unit(session, at, [k.unit.id for k in units if k.unit.id is not None])
    result = []
    for known in units:
        uid = known.unit.id or 0
        snapshot = snapshots.get(known.province)
        facts = UnitFacts(
            code=known.unit.code,
            name=known.name,
            province=known.province,
            allowances_due_t=known.allowances_due_t,
            complied=known.complied,
            lines=tuple(lines.get((snapshot.id or 0, uid), [])) if snapshot else (),
            cancellations=tuple(cancels.get(uid, [])),
        )
        result.append((known, facts))
    return result


def unmatched_cancellations(session: Session, at: datetime, province: str | None) -> list[CancellationRecord]:
    # Unmatched at `at`: matched to no unit yet, or only by a roster that came later.
    query = select(CancellationRecord).where(
        CancellationRecord.known_at <= at,
        or_(col(CancellationRecord.unit_id).is_(None), col(CancellationRecord.matched_at) > at),
    )
    if province not in (None, "*"):
        query = query.where(CancellationRecord.province == province)
    return list(session.exec(query.order_by(col(CancellationRecord.cancelled_at))))


def provinces_known(session: Session, at: datetime) -> list[str]:
    query = select(RosterEntry.province).where(RosterEntry.known_at <= at).distinct()
    return sorted(session.exec(query))
