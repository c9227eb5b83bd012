"""The facts known about units at an instant, read in bulk, shaped for compliance.unit_status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from compliance.cycle import load_cycle
from compliance.status import ApplicationLine as Line
from compliance.status import Cancellation, UnitFacts, YearFacts
from compliance.status import OffsetOperation as Operation
from storage.models import (
    ApplicationLine,
    CancellationRecord,
    OffsetOperation,
    OperationEvent,
    RosterEntry,
    RosterYear,
    Unit,
    WeeklySnapshot,
)

T = TypeVar("T")


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
    sector: str | None = None


def known_units(
    session: Session,
    at: datetime,
    province: str | None = None,
    codes: Iterable[str] | None = None,
    cycle: str | None = None,
) -> list[KnownUnit]:
    """Units that a roster known at `at` lists, folded over every roster entry up to then.

    `cycle`: only the rosters of that cycle (a unit listed by another cycle's roster only is left out).
    """
    query = (
        select(RosterEntry, Unit)
        .join(Unit, col(Unit.id) == RosterEntry.unit_id)
        .where(RosterEntry.known_at <= at)
        .order_by(col(RosterEntry.known_at), col(RosterEntry.id))
    )
    if cycle is not None:
        query = query.where(RosterEntry.cycle == cycle)
    if codes is not None:
        query = query.where(col(Unit.code).in_(list(codes)))
    folded: dict[int, KnownUnit] = {}
    for entry, unit in session.exec(query):
        folded[unit.id or 0] = _fold(folded.get(unit.id or 0), entry, unit)
    units = [k for k in folded.values() if province in (None, "*") or k.province == province]
    return sorted(units, key=lambda k: (k.province, k.unit.code))


def codes_known(session: Session, at: datetime) -> list[str]:
    """The codes of the units known_units(session, at) gives, sorted."""
    query = (
        select(Unit.code)
        .join(RosterEntry, col(RosterEntry.unit_id) == Unit.id)
        .where(RosterEntry.known_at <= at)
        .distinct()
    )
    return sorted(session.exec(query))


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
            entry.sector,
        )
    return KnownUnit(
        unit,
        entry.province,
        entry.name,
        keep(entry.allowances_due_t, known.allowances_due_t),  # type: ignore[arg-type]
        keep(entry.complied, known.complied),  # type: ignore[arg-type]
        keep(entry.surrendered_t, known.surrendered_t),  # type: ignore[arg-type]
        keep(entry.contact_email, known.contact_email),  # type: ignore[arg-type]
        keep(entry.sector, known.sector),  # type: ignore[arg-type]
    )


def latest_snapshots(
    session: Session, at: datetime, provinces: Iterable[str], cycle: str | None = None
) -> dict[str, WeeklySnapshot]:
    """Per province, the weekly snapshot with the newest as-of date among those known at `at`."""
    wanted = set(provinces)
    query = (
        select(WeeklySnapshot)
        .where(WeeklySnapshot.known_at <= at, col(WeeklySnapshot.province).in_(wanted))
        .order_by(col(WeeklySnapshot.as_of), col(WeeklySnapshot.known_at), col(WeeklySnapshot.id))
    )
    if cycle is not None:
        query = query.where(WeeklySnapshot.cycle == cycle)
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
    session: Session, at: datetime, unit_ids: Sequence[int], cycle: str | None = None
) -> dict[int, list[Cancellation]]:
    grouped: dict[int, list[Cancellation]] = defaultdict(list)
    if not unit_ids:
        return grouped
    query = select(CancellationRecord).where(
        CancellationRecord.known_at <= at,
        col(CancellationRecord.unit_id).in_(list(unit_ids)),
        matched_by(CancellationRecord.matched_at, at),
    )
    if cycle is not None:
        query = query.where(CancellationRecord.cycle == cycle)
    for record in session.exec(query):
        grouped[record.unit_id or 0].append(Cancellation(record.quantity_t, record.cancelled_at))
    return grouped


def listed_through(
    session: Session, at: datetime, provinces: Iterable[str], cycle: str | None = None
) -> dict[str | None, datetime]:
    """The latest cancellation each province's lists have given by `at` (None: lists that name no
    province), read off every record, matched to a unit or not."""
    chosen = sorted(set(provinces))
    query = (
        select(CancellationRecord.province, func.max(CancellationRecord.cancelled_at))
        .where(
            CancellationRecord.known_at <= at,
            or_(col(CancellationRecord.province).in_(chosen), col(CancellationRecord.province).is_(None)),
        )
        .group_by(col(CancellationRecord.province))
    )
    if cycle is not None:
        query = query.where(CancellationRecord.cycle == cycle)
    return {province: latest for province, latest in session.exec(query) if latest is not None}


def years_by_unit(
    session: Session, at: datetime, unit_ids: Sequence[int], cycle: str | None = None
) -> dict[int, list[YearFacts]]:
    """Each unit's figures per obligation, folded over the roster entries known at `at` (a blank keeps
    what an earlier roster said), in the order of the obligations."""
    folded: dict[int, dict[str, YearFacts]] = defaultdict(dict)
    if not unit_ids:
        return {}
    query = (
        select(RosterEntry.unit_id, RosterYear)
        .join(RosterEntry, col(RosterEntry.id) == RosterYear.entry_id)
        .where(RosterEntry.known_at <= at, col(RosterEntry.unit_id).in_(list(unit_ids)))
        .order_by(col(RosterEntry.known_at), col(RosterEntry.id), col(RosterYear.id))
    )
    if cycle is not None:
        query = query.where(RosterEntry.cycle == cycle)
    for unit_id, year in session.exec(query):
        old = folded[unit_id].get(year.obligation)
        folded[unit_id][year.obligation] = YearFacts(
            year.obligation,
            _keep(year.allowances_due_t, old.allowances_due_t if old else None),
            _keep(year.surrendered_t, old.surrendered_t if old else None),
            _keep(year.complied, old.complied if old else None),
        )
    return {uid: [years[o] for o in sorted(years)] for uid, years in folded.items()}


def _keep(new: T | None, old: T | None) -> T | None:
    return old if new is None else new


def operations_by_unit(
    session: Session, at: datetime, unit_ids: Sequence[int], cycle: str | None = None
) -> dict[int, list[Operation]]:
    """Each unit's offset operations known at `at`, each in the latest state known then."""
    if not unit_ids:
        return {}
    query = (
        select(OffsetOperation, OperationEvent)
        .join(OperationEvent, col(OperationEvent.operation_id) == OffsetOperation.id)
        .where(OperationEvent.known_at <= at, col(OffsetOperation.unit_id).in_(list(unit_ids)))
        .order_by(col(OperationEvent.known_at), col(OperationEvent.id))
    )
    if cycle is not None:
        query = query.where(OffsetOperation.cycle == cycle)
    latest: dict[int, tuple[OffsetOperation, OperationEvent]] = {}
    for operation, event in session.exec(query):
        latest[operation.id or 0] = (operation, event)
    grouped: dict[int, list[Operation]] = defaultdict(list)
    for op_id in sorted(latest):
        operation, event = latest[op_id]
        grouped[operation.unit_id or 0].append(as_operation(operation, event))
    return grouped


def as_operation(operation: OffsetOperation, event: OperationEvent) -> Operation:
    return Operation(
        year=operation.obligation,
        quantity_t=operation.quantity_t,
        state=event.state,  # type: ignore[arg-type]
        operated_on=operation.operated_on,
        state_known_at=event.known_at,
        ccer_kind=operation.ccer_kind,  # type: ignore[arg-type]
        project_no=operation.project_no,
        project_name=operation.project_name,
    )


def facts_at(
    session: Session,
    at: datetime,
    province: str | None = None,
    codes: Iterable[str] | None = None,
    cycle: str | None = None,
) -> list[tuple[KnownUnit, UnitFacts]]:
    """Everything compliance needs about the selected units at `at`, in six or seven queries.

    `cycle`: only that cycle's facts (its rosters, summaries, cancellations and operations); None: every
    fact, whatever its cycle. A unit's history across cycles is read one cycle at a time.
    """
    units = known_units(session, at, province, codes, cycle)
    snapshots = latest_snapshots(session, at, {k.province for k in units}, cycle)
    chosen = None if codes is None else [k.unit.id or 0 for k in units]
    lines = lines_by_unit(session, [s.id for s in snapshots.values() if s.id is not None], chosen, at)
    unit_ids = [k.unit.id for k in units if k.unit.id is not None]
    cancels = cancellations_by_unit(session, at, unit_ids, cycle)
    years = years_by_unit(session, at, unit_ids, cycle)
    operations = operations_by_unit(session, at, unit_ids, cycle)
    known_cycle = load_cycle(cycle) if cycle is not None else None
    # only a cycle whose mail has cancellation lists chases by them (later cycles have operations)
    chased = known_cycle is None or "cancellation_list" in known_cycle.mail_kinds
    listed = listed_through(session, at, {k.province for k in units}, cycle) if units and chased else {}
    obligations = known_cycle.obligations if known_cycle is not None else ()
    result = []
    for known in units:
        uid = known.unit.id or 0
        snapshot = snapshots.get(known.province)
        unit_years = tuple(years.get(uid, []))
        facts = UnitFacts(
            code=known.unit.code,
            name=known.name,
            province=known.province,
            allowances_due_t=_total_due(known.allowances_due_t, unit_years, obligations),
            complied=known.complied,
            lines=tuple(lines.get((snapshot.id or 0, uid), [])) if snapshot else (),
            cancellations=tuple(cancels.get(uid, [])),
            allowances_by_year_t=_by_year(unit_years),
            sector=known.sector,
            years=unit_years,
            operations=tuple(operations.get(uid, [])),
            listed_through=_latest(listed.get(known.province), listed.get(None)),
        )
        result.append((replace(known, allowances_due_t=facts.allowances_due_t), facts))
    return result


def _latest(*instants: datetime | None) -> datetime | None:
    return max((i for i in instants if i is not None), default=None)


def _by_year(years: tuple[YearFacts, ...]) -> tuple[tuple[int, int], ...]:
    """(year, tonnes) of the obligations that are single years (not the first cycle's "2019-2020")."""
    return tuple(
        (int(y.year), y.allowances_due_t)
        for y in years
        if y.year.isdigit() and y.allowances_due_t is not None
    )


def _total_due(folded: int | None, years: tuple[YearFacts, ...], obligations: tuple[str, ...]) -> int | None:
    """With every obligation of the cycle known year by year, the total is their sum (a later roster may
    give one year only); else what the rosters said in all."""
    dues = {y.year: y.allowances_due_t for y in years if y.allowances_due_t is not None}
    if obligations and all(o in dues for o in obligations):
        return sum(dues[o] for o in obligations)
    return folded


def unmatched_cancellations(
    session: Session, at: datetime, province: str | None, cycle: str | None = None
) -> list[CancellationRecord]:
    # Unmatched at `at`: matched to no unit yet, or only by a roster that came later.
    query = select(CancellationRecord).where(
        CancellationRecord.known_at <= at,
        or_(col(CancellationRecord.unit_id).is_(None), col(CancellationRecord.matched_at) > at),
    )
    if province not in (None, "*"):
        query = query.where(CancellationRecord.province == province)
    if cycle is not None:
        query = query.where(CancellationRecord.cycle == cycle)
    return list(session.exec(query.order_by(col(CancellationRecord.cancelled_at))))


def unmatched_operations(
    session: Session, at: datetime, province: str | None, cycle: str | None = None
) -> list[tuple[OffsetOperation, Operation]]:
    """Operations known at `at` whose unit no roster has brought yet, each in its latest state then."""
    query = (
        select(OffsetOperation, OperationEvent)
        .join(OperationEvent, col(OperationEvent.operation_id) == OffsetOperation.id)
        .where(OperationEvent.known_at <= at, col(OffsetOperation.unit_id).is_(None))
        .order_by(col(OperationEvent.known_at), col(OperationEvent.id))
    )
    if province not in (None, "*"):
        query = query.where(OffsetOperation.province == province)
    if cycle is not None:
        query = query.where(OffsetOperation.cycle == cycle)
    latest = {operation.id or 0: (operation, event) for operation, event in session.exec(query)}
    return [(operation, as_operation(operation, event)) for operation, event in latest.values()]


def provinces_known(session: Session, at: datetime, cycle: str | None = None) -> list[str]:
    query = select(RosterEntry.province).where(RosterEntry.known_at <= at).distinct()
    if cycle is not None:
        query = query.where(RosterEntry.cycle == cycle)
    return sorted(session.exec(query))
