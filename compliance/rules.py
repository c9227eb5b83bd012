"""The offset rules of a cycle: the 5 % cap and which CCER may be used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Literal

from compliance.cycle import Cycle
from compliance.projects import normalize_project_no


def floor_share(amount_t: int, ratio: Decimal) -> int:
    """floor(amount × ratio) in exact integer arithmetic."""
    if amount_t < 0:
        raise ValueError(f"应清缴配额量不能为负数：{amount_t}")
    numerator, denominator = ratio.as_integer_ratio()
    return amount_t * numerator // denominator


def offset_cap(allowances_due_t: int | Mapping[int, int], cycle: Cycle) -> int:
    """The most CCER a unit may use, in whole tonnes.

    With a mapping of year -> allowances, a per-year cycle caps each year on its own (the floors add up);
    any other cycle caps the total.
    """
    if not isinstance(allowances_due_t, Mapping):
        return floor_share(allowances_due_t, cycle.cap_ratio)
    amounts = list(allowances_due_t.values())
    if cycle.cap_per_year:
        return sum(floor_share(amount, cycle.cap_ratio) for amount in amounts)
    if any(amount < 0 for amount in amounts):
        raise ValueError(f"应清缴配额量不能为负数：{amounts}")
    return floor_share(sum(amounts), cycle.cap_ratio)


IneligibleWhy = Literal["vintage", "excluded_project"]


def ineligible_because(
    project_no: str | None, vintage_end: date | None, cycle: Cycle
) -> IneligibleWhy | None:
    """Why the cycle refuses this CCER: a vintage ending on/after the cut-off, or an excluded project.

    Unknown values are not held against the unit: only what the summary states can make CCER ineligible.
    """
    if vintage_end is not None and cycle.vintage_cutoff is not None and vintage_end >= cycle.vintage_cutoff:
        return "vintage"
    if project_no is not None and normalize_project_no(project_no) in cycle.excluded_projects:
        return "excluded_project"
    return None


def ccer_ineligible(project_no: str | None, vintage_end: date | None, cycle: Cycle) -> bool:
    return ineligible_because(project_no, vintage_end, cycle) is not None
