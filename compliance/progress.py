"""A province's completion rate against the cycle's targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from compliance.cycle import Cycle
from compliance.status import UnitStatus, require_aware


@dataclass(frozen=True)
class ProvinceProgress:
    province: str
    units_total: int
    units_complied: int
    completion_rate: float  # 0..1, rounded to 4 places; 0.0 with no units
    outstanding: tuple[str, ...]  # codes not complied, sorted
    target_95_met: bool
    target_100_met: bool
    units_needed_for_95: int
    target_95_missed: bool = False  # the 95 % instant has passed and the target is not met
    target_100_missed: bool = False  # the compliance deadline has passed with units outstanding


def units_required(total: int, ratio: Decimal) -> int:
    """The least whole number of units that reaches `ratio` of `total`."""
    return int((Decimal(total) * ratio).to_integral_value(rounding=ROUND_CEILING))


def province_progress(
    province: str, units: Sequence[tuple[str, UnitStatus]], cycle: Cycle, at: datetime
) -> ProvinceProgress:
    require_aware(at)
    total = len(units)
    complied = sum(1 for _, status in units if status.complied)
    needed_95 = max(units_required(total, cycle.target_ratio) - complied, 0)
    met_95, met_100 = needed_95 == 0, complied == total
    return ProvinceProgress(
        province=province,
        units_total=total,
        units_complied=complied,
        completion_rate=round(complied / total, 4) if total else 0.0,
        outstanding=tuple(sorted(code for code, status in units if not status.complied)),
        target_95_met=met_95,
        target_100_met=met_100,
        units_needed_for_95=needed_95,
        target_95_missed=cycle.target_95_at is not None and at >= cycle.target_95_at and not met_95,
        target_100_missed=at >= cycle.compliance_deadline and not met_100,
    )
