"""Which cycle a fact belongs to when its mail names no obligation year.

A cycle's mail keeps coming after its compliance deadline: the last rosters saying who complied, late
cancellations, until the provinces report how they handled the units that did not comply. So a fact
belongs to the first cycle whose report date (`report_due`, to the end of that day) has not passed at the
instant the bot learned it (see `mail_end`); after the last cycle's, to the last cycle. Between two
cycles this differs from `compliance.cycle.current_cycle`, which changes at the compliance deadline.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

from compliance.cycle import Cycle, all_cycles, cycle_for_obligation, cycle_names, load_cycle

__all__ = ["cycle_at", "default_cycle", "resolve_obligation"]


# A cycle that states no report date keeps its mail as long as the first cycle did after its deadline
# (2021-12-31 to the report of 2022-01-15): the rosters saying who complied come in those days.
LATE_MAIL = timedelta(days=15)


def mail_end(cycle: Cycle) -> datetime:
    """When a cycle's mail stops coming: the end of its report day, else LATE_MAIL after its deadline."""
    if cycle.report_due is not None:
        return datetime.combine(cycle.report_due + timedelta(days=1), time(0), tzinfo=cycle.tz)
    return cycle.compliance_deadline + LATE_MAIL


@cache
def _ends() -> tuple[tuple[datetime, str], ...]:
    """(when its mail stops coming, cycle name), in the order of the cycles' compliance deadlines."""
    return tuple((mail_end(c), c.name) for c in all_cycles())


@lru_cache(maxsize=256)  # a roster asks once a row, with its message's instant
def cycle_at(at: datetime) -> Cycle:
    """The cycle a fact learned at `at` belongs to, when nothing in its mail says which."""
    ends = _ends()
    return load_cycle(next((name for end, name in ends if at < end), ends[-1][1]))


@cache  # of the bundled cycles only: a row asks it for each of its years
def resolve_obligation(obligation: str) -> tuple[Cycle, str | None] | None:
    """The cycle owing `obligation` and the obligation itself; a cycle's own name ("2021-2022") stands for
    that cycle's obligations together (None); one year of a cycle with one combined obligation ("2020" of
    the first cycle) for that obligation; None when no bundled cycle knows it."""
    cycle = cycle_for_obligation(obligation)
    if cycle is not None:
        return cycle, obligation
    if obligation in cycle_names():
        return load_cycle(obligation), None
    combined = [c for c in all_cycles() if len(c.obligations) == 1 and obligation in map(str, c.years)]
    return (combined[0], combined[0].obligations[0]) if combined else None


def default_cycle(context: Any) -> str:
    """Column default: a fact written without its cycle (older writers) gets the cycle of its `known_at`."""
    known_at = context.get_current_parameters().get("known_at")
    if not isinstance(known_at, datetime):
        raise ValueError("a fact without known_at cannot be given a cycle")
    return cycle_at(known_at).name
