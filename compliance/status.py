"""What one unit has done, what looks wrong, and what it must do next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from compliance.advice import Moment, NextStep, load_procedure, moment_of
from compliance.cycle import Cycle
from compliance.facts import (
    Application,
    ApplicationLine,
    Cancellation,
    CcerKind,
    Ineligible,
    LineResult,
    OffsetOperation,
    OperationState,
    UnitFacts,
    UnitStatus,
    YearFacts,
)
from compliance.obligations import operations_status
from compliance.rules import ineligible_because, offset_cap

__all__ = [
    "Application",
    "ApplicationLine",
    "Cancellation",
    "CcerKind",
    "Ineligible",
    "LineResult",
    "NextStep",
    "OffsetOperation",
    "OperationState",
    "UnitFacts",
    "UnitStatus",
    "YearFacts",
    "unit_status",
]


def require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"时刻必须带时区：{at.isoformat()}")


def application_state(lines: Sequence[ApplicationLine]) -> Application:
    if not lines:
        return "none"
    if any(line.result == "pending" for line in lines):
        return "pending"
    if any(line.result == "confirmed" for line in lines):
        return "confirmed"
    return "rejected"


def confirmed_amount(lines: Sequence[ApplicationLine]) -> int:
    return sum(
        line.requested_t if line.confirmed_t is None else line.confirmed_t
        for line in lines
        if line.result == "confirmed"
    )


def unit_cap(facts: UnitFacts, cycle: Cycle) -> int | None:
    """The unit's offset cap, or None while its allowances due are unknown."""
    if facts.allowances_by_year_t:
        return offset_cap(dict(facts.allowances_by_year_t), cycle)
    if facts.allowances_due_t is None:
        return None
    return offset_cap(facts.allowances_due_t, cycle)


@dataclass(frozen=True)
class _Amounts:
    requested: int
    confirmed: int
    cancelled: int
    in_time: int
    usable: int


def _amounts(facts: UnitFacts, cycle: Cycle, cap: int | None) -> _Amounts:
    confirmed = confirmed_amount(facts.lines)
    in_time = sum(r.quantity_t for r in facts.cancellations if r.cancelled_at <= cycle.cancellation_deadline)
    return _Amounts(
        requested=sum(line.requested_t for line in facts.lines),
        confirmed=confirmed,
        cancelled=sum(record.quantity_t for record in facts.cancellations),
        in_time=in_time,
        usable=confirmed if cap is None else min(confirmed, cap),
    )


def procedure_state(complied: bool, application: Application, amounts: _Amounts) -> str:
    """The row of the rule table the unit is in (compliance/procedures/cancellation.toml)."""
    if complied:
        return "complied"
    if application != "confirmed":
        return {"none": "no_application", "pending": "pending", "rejected": "rejected"}[application]
    if amounts.in_time >= amounts.usable:
        return "confirmed_cancelled"
    return "confirmed_partly_cancelled" if amounts.in_time > 0 else "confirmed_uncancelled"


def unit_status(facts: UnitFacts, cycle: Cycle, at: datetime) -> UnitStatus:
    """The unit's status at `at` by the cycle's procedure: the notice's cancellations, or later operations."""
    require_aware(at)
    if cycle.procedure == "operations":
        return operations_status(facts, cycle, at)
    return cancellation_status(facts, cycle, at)


def cancellation_status(facts: UnitFacts, cycle: Cycle, at: datetime) -> UnitStatus:
    cap = unit_cap(facts, cycle)
    application = application_state(facts.lines)
    amounts = _amounts(facts, cycle, cap)
    complied = facts.complied is True
    state = procedure_state(complied, application, amounts)
    moment = moment_of(cycle, at)
    rule = load_procedure(cycle.procedure).rule_for(state, moment)
    can_still_cancel = moment in ("window_open", "window_closed") and amounts.confirmed > 0
    offset = min(amounts.in_time, amounts.usable)
    return UnitStatus(
        offset_cap_t=cap or 0,
        application=application,
        requested_t=amounts.requested,
        confirmed_t=amounts.confirmed,
        cancelled_t=amounts.cancelled,
        to_cancel_t=max(amounts.usable - amounts.in_time, 0) if can_still_cancel else 0,
        complied=complied,
        anomalies=anomalies(facts, cycle, cap, amounts.requested, amounts.confirmed, amounts.cancelled),
        next_step=rule.step,
        next_deadline=rule.deadline_at(cycle),
        usable_t=amounts.usable,
        offset_t=offset,
        late_cancelled_t=amounts.cancelled - amounts.in_time,
        to_surrender_t=_to_surrender(facts, amounts.usable if can_still_cancel else offset),
        over_cap_t=max(amounts.confirmed - cap, 0) if cap is not None else 0,
        advice=rule.say,
        overdue=moment == "overdue" and not complied,
        state=state,
        moment=moment,
        chase=_chase(state, moment, facts, cycle, at),
        ineligible=_ineligible(facts, cycle),
        obligation=cycle.obligations[0] if cycle.obligations else None,
        allowances_due_t=facts.allowances_due_t,
    )


def _to_surrender(facts: UnitFacts, offset_t: int) -> int | None:
    by_year = facts.allowances_by_year_t
    due = sum(t for _, t in by_year) if by_year else facts.allowances_due_t
    return None if due is None else max(due - offset_t, 0)


_NOT_FULLY_CANCELLED = ("confirmed_uncancelled", "confirmed_partly_cancelled")


def _chase(state: str, moment: Moment, facts: UnitFacts, cycle: Cycle, at: datetime) -> tuple[str, ...]:
    """A confirmed application not fully cancelled at the cancellation deadline: the officer chases it, once
    the lists can tell, that is once the deadline day's list is in, or by the next morning at the latest."""
    late = moment in ("offset_closed", "overdue")
    if not late or state not in _NOT_FULLY_CANCELLED:
        return ()
    deadline_day = cycle.cancellation_deadline.astimezone(cycle.tz).date()
    through = facts.listed_through
    listed = through is not None and through.astimezone(cycle.tz).date() >= deadline_day
    return ("not_cancelled_by_deadline",) if listed or at >= cycle.cancellations_known_at else ()


def _ineligible(facts: UnitFacts, cycle: Cycle) -> tuple[Ineligible, ...]:
    found = []
    for line in facts.lines:
        why = ineligible_because(line.project_no, line.vintage_end, cycle)
        if why is not None:
            found.append(Ineligible(line.project_no, line.project_name, why))
    return tuple(dict.fromkeys(found))


def anomalies(
    facts: UnitFacts, cycle: Cycle, cap: int | None, requested: int, confirmed: int, cancelled: int
) -> tuple[str, ...]:
    """FORMATS.md's anomalies, whatever the application's result: a rejected line over the cap or with
    ineligible CCER is reported too (it is usually why it was rejected)."""
    found = set()
    if cap is not None and max(requested, confirmed) > cap:
        found.add("offset_over_cap")
    if cancelled > confirmed:
        found.add("cancelled_exceeds_confirmed")
    if any(record.cancelled_at > cycle.cancellation_deadline for record in facts.cancellations):
        found.add("cancellation_after_deadline")
    if _ineligible(facts, cycle):
        found.add("ineligible_ccer")
    return tuple(sorted(found))
