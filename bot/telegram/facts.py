"""One unit's report, read lean: what `status` is asked most, in three small prepared queries.

bot.reports.unit_report goes through storage.state.facts_at, shaped for province-wide reports: it reads
every application line of the unit's province and builds ORM objects for each row. When many people ask
at once that is most of the cost of an answer, so the chat reads the unit's own rows only, with the same
meaning (the latest roster values known at the instant, the lines of the province's latest snapshot,
the cancellations known) and through the same compliance rules. tests/chat/test_facts.py holds the two
equal on every unit and instant of the test story.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.reports import UnitReport
from compliance.cycle import Cycle
from compliance.status import ApplicationLine as Line
from compliance.status import Cancellation, UnitFacts, unit_status
from storage.models import ApplicationLine, CancellationRecord, RosterEntry, Unit, WeeklySnapshot

_ROSTER = (
    select(
        col(Unit.id),
        col(Unit.code),
        col(RosterEntry.province),
        col(RosterEntry.name),
        col(RosterEntry.allowances_due_t),
        col(RosterEntry.complied),
        col(RosterEntry.contact_email),
    )
    .join(Unit, col(Unit.id) == RosterEntry.unit_id)
    .where(col(Unit.code) == bindparam("code"), col(RosterEntry.known_at) <= bindparam("at"))
    .order_by(col(RosterEntry.known_at), col(RosterEntry.id))
)
_LATEST_SNAPSHOT = (
    select(col(WeeklySnapshot.id))
    .where(
        col(WeeklySnapshot.province) == bindparam("province"), col(WeeklySnapshot.known_at) <= bindparam("at")
    )
    .order_by(
        col(WeeklySnapshot.as_of).desc(), col(WeeklySnapshot.known_at).desc(), col(WeeklySnapshot.id).desc()
    )
    .limit(1)
    .scalar_subquery()
)
_LINES = (
    select(
        col(ApplicationLine.project_no),
        col(ApplicationLine.project_name),
        col(ApplicationLine.vintage_start),
        col(ApplicationLine.vintage_end),
        col(ApplicationLine.requested_t),
        col(ApplicationLine.confirmed_t),
        col(ApplicationLine.result),
    )
    .where(
        col(ApplicationLine.snapshot_id) == _LATEST_SNAPSHOT,
        col(ApplicationLine.unit_id) == bindparam("unit"),
        or_(col(ApplicationLine.matched_at).is_(None), col(ApplicationLine.matched_at) <= bindparam("at")),
    )
    .order_by(col(ApplicationLine.id))
)
_CANCELLATIONS = select(col(CancellationRecord.quantity_t), col(CancellationRecord.cancelled_at)).where(
    col(CancellationRecord.unit_id) == bindparam("unit"),
    col(CancellationRecord.known_at) <= bindparam("at"),
    or_(col(CancellationRecord.matched_at).is_(None), col(CancellationRecord.matched_at) <= bindparam("at")),
)


def unit_facts(engine: Engine, code: str, at: datetime) -> tuple[UnitFacts, str | None] | None:
    """The unit's facts at `at` and its contact address, or None when no roster known then lists it."""
    with engine.connect() as connection:
        entries = connection.execute(_ROSTER, {"code": code, "at": at}).all()
        if not entries:
            return None
        unit_id, province = entries[-1][0], entries[-1][2]
        lines = connection.execute(_LINES, {"province": province, "at": at, "unit": unit_id}).all()
        cancelled = connection.execute(_CANCELLATIONS, {"unit": unit_id, "at": at}).all()
    latest = _fold(entries)
    facts = UnitFacts(
        code=code,
        name=latest["name"],
        province=province,
        allowances_due_t=latest["allowances_due_t"],
        complied=latest["complied"],
        lines=tuple(Line(*row) for row in lines),  # type: ignore[arg-type]
        cancellations=tuple(Cancellation(quantity, when) for quantity, when in cancelled),
    )
    return facts, latest["contact_email"]


def unit_report(engine: Engine, cycle: Cycle, code: str, at: datetime) -> UnitReport | None:
    """The unit's report at `at`, or None when no roster known then lists it."""
    found = unit_facts(engine, code, at)
    if found is None:
        return None
    facts, email = found
    return report_of(facts, email, cycle, at)


def report_of(facts: UnitFacts, email: str | None, cycle: Cycle, at: datetime) -> UnitReport:
    return UnitReport(
        facts.code, facts.name, facts.province, facts.allowances_due_t, email, unit_status(facts, cycle, at)
    )


def _fold(entries: Sequence[Any]) -> dict[str, Any]:
    """Roster entries, oldest first: the latest name; of every other value, the latest given."""
    folded: dict[str, Any] = {"allowances_due_t": None, "complied": None, "contact_email": None}
    for _, _, _, name, allowances, complied, email in entries:
        folded["name"] = name
        for key, value in (
            ("allowances_due_t", allowances),
            ("complied", complied),
            ("contact_email", email),
        ):
            if value is not None:
                folded[key] = value
    return folded
