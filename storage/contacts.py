"""A unit's contact address, as far as binding a chat by email may trust it.

A roster may change the address; the change is recorded, and until an officer confirms it (or its
waiting time has passed) a one-time binding code goes to the address the unit had before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from storage.models import ContactChange, Unit
from storage.peer import Peer
from storage.units import UnitRow

DEFAULT_CONFIRM_DAYS = 7


@dataclass(frozen=True)
class Change:
    unit_id: int
    code: str
    name: str
    old_address: str
    new_address: str
    usable_from: datetime | None = None  # set once recorded: when codes may go to the new address


def changes_of(current: Mapping[str, UnitRow], wanted: Sequence[tuple[str, str | None]]) -> list[Change]:
    """The (code, new address) pairs that would replace a unit's address on file (`current`, by code:
    the units as they are before the roster) with another one."""
    new = {code: address for code, address in wanted if address}
    units = [current[code] for code in new if code in current]
    return [
        Change(unit.id, unit.code, unit.name, unit.contact_email, new[unit.code])
        for unit in sorted(units, key=lambda unit: unit.code)
        if unit.contact_email and unit.contact_email.strip().lower() != new[unit.code].strip().lower()
    ]


def record(
    session: Session, changes: Sequence[Change], message_pk: int, known_at: datetime, wait: timedelta
) -> None:
    session.add_all(
        ContactChange(
            unit_id=c.unit_id,
            message_pk=message_pk,
            old_address=c.old_address,
            new_address=c.new_address,
            known_at=known_at,
            usable_from=known_at + wait,
        )
        for c in changes
    )


def _settled(change: ContactChange, now: datetime) -> bool:
    return change.confirmed_at is not None or change.usable_from <= now


def bind_address(session: Session, unit: Unit, now: datetime) -> str | None:
    """Where a binding code for the unit may go: its address, unless a change of it is still unsettled."""
    query = (
        select(ContactChange).where(ContactChange.unit_id == unit.id).order_by(col(ContactChange.id).desc())
    )
    changes = list(session.exec(query))  # newest first: the newest settled one is the last one trusted
    settled = next((change for change in changes if _settled(change, now)), None)
    if settled is not None:
        return settled.new_address
    return changes[-1].old_address if changes else unit.contact_email


def pending(session: Session, unit_id: int, now: datetime) -> ContactChange | None:
    query = (
        select(ContactChange).where(ContactChange.unit_id == unit_id).order_by(col(ContactChange.id).desc())
    )
    newest = session.exec(query).first()
    return newest if newest is not None and not _settled(newest, now) else None


def confirm(session: Session, unit_id: int, by: Peer, now: datetime) -> ContactChange | None:
    change = pending(session, unit_id, now)
    if change is not None:
        change.confirmed_at, change.confirmed_by = now, str(by)
    return change


def units_at(session: Session, address: str, now: datetime) -> list[Unit]:
    """The units whose contact address on file, as binding trusts it now, is this one: an address a roster
    has just replaced still speaks for its unit until the change settles, the new one only after."""
    wanted = address.strip().lower()
    if not wanted:
        return []
    by_unit = select(Unit).where(func.lower(Unit.contact_email) == wanted)
    by_change = select(Unit).join(ContactChange, col(ContactChange.unit_id) == col(Unit.id))
    by_change = by_change.where(func.lower(ContactChange.old_address) == wanted)
    found = {u.id: u for u in [*session.exec(by_unit), *session.exec(by_change)]}
    return [
        unit
        for _, unit in sorted(found.items(), key=lambda pair: pair[0] or 0)
        if (bind_address(session, unit, now) or "").strip().lower() == wanted
    ]
