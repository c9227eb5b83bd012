"""Which of the cycle's deadlines a unit met or missed: what `/deadlines` marks ✔ or ✘.

A deadline is met or missed only when it has passed and concerns the unit: the application window
concerns units that applied (using CCER is optional), the cancellation deadline units with an application
that was not rejected, the compliance deadline every unit. The cycle's other dates (the window opening,
the provinces' targets and reports) are the provinces' business: they are only passed or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from compliance.cycle import Cycle, Deadline
from compliance.status import UnitFacts, application_state, confirmed_amount, require_aware, unit_cap

Mark = Literal["upcoming", "passed", "met", "missed", "not_applicable"]
UNIT_DEADLINES = ("window_closes", "cancellation_deadline", "compliance_deadline")


@dataclass(frozen=True)
class DeadlineMark:
    deadline: Deadline
    mark: Mark
    in_time_t: int = 0  # cancellation deadline: usable CCER cancelled by then (at most the cap)
    short_t: int = 0  # cancellation deadline: confirmed CCER not cancelled by then


def deadline_marks(facts: UnitFacts | None, cycle: Cycle, at: datetime) -> tuple[DeadlineMark, ...]:
    """Every deadline of the cycle, marked for the unit (`facts`) or for no unit in particular (None)."""
    require_aware(at)
    return tuple(deadline_mark(deadline, facts, cycle, at) for deadline in cycle.deadlines)


def deadline_mark(deadline: Deadline, facts: UnitFacts | None, cycle: Cycle, at: datetime) -> DeadlineMark:
    if deadline.at > at:
        return DeadlineMark(deadline, "upcoming")
    if facts is None or deadline.key not in UNIT_DEADLINES:
        return DeadlineMark(deadline, "passed")
    if deadline.key == "window_closes":
        applied = application_state(facts.lines) != "none"
        return DeadlineMark(deadline, "met" if applied else "not_applicable")
    if deadline.key == "cancellation_deadline":
        return _cancellation(deadline, facts, cycle)
    return DeadlineMark(deadline, "met" if facts.complied is True else "missed")


def _cancellation(deadline: Deadline, facts: UnitFacts, cycle: Cycle) -> DeadlineMark:
    """Met when the confirmed amount (at most the cap: more cannot be used) was cancelled by the deadline;
    a cancellation after it does not count."""
    application = application_state(facts.lines)
    if application in ("none", "rejected"):
        return DeadlineMark(deadline, "not_applicable")
    cap = unit_cap(facts, cycle)
    confirmed = confirmed_amount(facts.lines)
    owed = confirmed if cap is None else min(confirmed, cap)
    in_time = sum(c.quantity_t for c in facts.cancellations if c.cancelled_at <= deadline.at)
    usable = min(in_time, owed)
    if application == "confirmed" and owed > 0 and usable >= owed:
        return DeadlineMark(deadline, "met", in_time_t=usable)
    # A pending application at the deadline could not be cancelled for: the offset is lost as well.
    return DeadlineMark(deadline, "missed", in_time_t=usable, short_t=max(owed - usable, 0))
