"""What one unit has done, what looks wrong, and what it must do next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from compliance.cycle import Cycle
from compliance.rules import ccer_ineligible, offset_cap

Application = Literal["none", "pending", "confirmed", "rejected"]
LineResult = Literal["pending", "confirmed", "rejected"]
NextStep = Literal[
    "done",
    "submit_application",
    "await_confirmation",
    "cancel_ccer",
    "submit_compliance",
    "surrender_allowances",
]


@dataclass(frozen=True)
class ApplicationLine:
    """One row (one CCER project) of a unit's offset application in a weekly summary."""

    project_no: str | None
    project_name: str | None
    vintage_start: date | None
    vintage_end: date | None
    requested_t: int
    confirmed_t: int | None  # None: a confirmed line is confirmed for what it requested
    result: LineResult


@dataclass(frozen=True)
class Cancellation:
    quantity_t: int
    cancelled_at: datetime


@dataclass(frozen=True)
class UnitFacts:
    """What is known about a unit at an instant."""

    code: str
    name: str
    province: str
    allowances_due_t: int | None
    complied: bool | None  # from the latest roster that says so; None: unknown
    lines: tuple[ApplicationLine, ...]  # the unit's rows in the latest weekly snapshot; empty: no application
    cancellations: tuple[Cancellation, ...]
    # Second-cycle style rosters give each year's allowances: (year, tonnes) pairs, capped year by year.
    allowances_by_year_t: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class UnitStatus:
    offset_cap_t: int  # 0 while the allowances due are unknown
    application: Application
    requested_t: int
    confirmed_t: int
    cancelled_t: int
    to_cancel_t: int
    complied: bool
    anomalies: tuple[str, ...]
    next_step: NextStep
    next_deadline: datetime | None


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


def unit_status(facts: UnitFacts, cycle: Cycle, at: datetime) -> UnitStatus:
    require_aware(at)
    cap = unit_cap(facts, cycle)
    application = application_state(facts.lines)
    requested = sum(line.requested_t for line in facts.lines)
    confirmed = confirmed_amount(facts.lines)
    cancelled = sum(record.quantity_t for record in facts.cancellations)
    complied = facts.complied is True
    step, deadline = next_step(complied, application, confirmed, cancelled, cycle, at)
    return UnitStatus(
        offset_cap_t=cap or 0,
        application=application,
        requested_t=requested,
        confirmed_t=confirmed,
        cancelled_t=cancelled,
        to_cancel_t=max(confirmed - cancelled, 0),
        complied=complied,
        anomalies=anomalies(facts, cycle, cap, requested, confirmed, cancelled),
        next_step=step,
        next_deadline=deadline,
    )


def anomalies(
    facts: UnitFacts, cycle: Cycle, cap: int | None, requested: int, confirmed: int, cancelled: int
) -> tuple[str, ...]:
    found = set()
    # A rejected application above the cap is still reported: it is usually why it was rejected.
    if cap is not None and max(requested, confirmed) > cap:
        found.add("offset_over_cap")
    if cancelled > confirmed:
        found.add("cancelled_exceeds_confirmed")
    if any(record.cancelled_at > cycle.cancellation_deadline for record in facts.cancellations):
        found.add("cancellation_after_deadline")
    if any(
        line.result != "rejected" and ccer_ineligible(line.project_no, line.vintage_end, cycle)
        for line in facts.lines
    ):
        found.add("ineligible_ccer")
    return tuple(sorted(found))


def next_step(
    complied: bool, application: Application, confirmed: int, cancelled: int, cycle: Cycle, at: datetime
) -> tuple[NextStep, datetime | None]:
    if complied:
        return "done", None
    if application == "none":
        if at < cycle.window_closes:
            return "submit_application", cycle.window_closes
        return "surrender_allowances", cycle.compliance_deadline
    if application == "pending":
        return "await_confirmation", cycle.cancellation_deadline
    if application == "rejected":
        return "surrender_allowances", cycle.compliance_deadline
    if cancelled < confirmed:
        # Still owed after the cancellation deadline: the province may accept a late cancellation.
        if at < cycle.cancellation_deadline:
            return "cancel_ccer", cycle.cancellation_deadline
        return "cancel_ccer", cycle.compliance_deadline
    return "submit_compliance", cycle.compliance_deadline
