"""What the bot says about a unit or a province at an instant: storage facts through compliance rules.

The command line (--json) and the chat views both read these, so a figure is computed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.telling import Telling
from compliance.cycle import Cycle
from compliance.progress import ProvinceProgress, province_progress
from compliance.status import UnitStatus, unit_status
from storage import state
from storage.engine import session_scope
from storage.models import CancellationRecord


class NotFound(Telling, LookupError):
    """No such unit or province at that instant, said in one line."""


@dataclass(frozen=True)
class UnitReport:
    code: str
    name: str
    province: str
    allowances_due_t: int | None
    contact_email: str | None
    status: UnitStatus

    def to_json(self) -> dict[str, Any]:
        s = self.status
        return {
            "code": self.code,
            "name": self.name,
            "province": self.province,
            "allowances_due_t": self.allowances_due_t,
            "offset_cap_t": s.offset_cap_t,
            "application": s.application,
            "requested_t": s.requested_t,
            "confirmed_t": s.confirmed_t,
            "cancelled_t": s.cancelled_t,
            "to_cancel_t": s.to_cancel_t,
            "complied": s.complied,
            "anomalies": sorted(s.anomalies),
            "next_step": s.next_step,
            "next_deadline": s.next_deadline.isoformat() if s.next_deadline else None,
        }


@dataclass(frozen=True)
class ProvinceReport:
    progress: ProvinceProgress
    units: tuple[UnitReport, ...]
    unmatched: tuple[CancellationRecord, ...]

    def outstanding_units(self) -> list[UnitReport]:
        """The units not yet complied, in the order of progress.outstanding (by code)."""
        return sorted((u for u in self.units if not u.status.complied), key=lambda u: u.code)

    def to_json(self) -> dict[str, Any]:
        p = self.progress
        return {
            "province": p.province,
            "units_total": p.units_total,
            "units_complied": p.units_complied,
            "completion_rate": p.completion_rate,
            "target_95_met": p.target_95_met,
            "target_100_met": p.target_100_met,
            "units_needed_for_95": p.units_needed_for_95,
            "unmatched_cancellations": len(self.unmatched),
            "outstanding": list(p.outstanding),
            "anomalies": sum(len(u.status.anomalies) for u in self.units),
        }


def unit_reports(
    engine: Engine, cycle: Cycle, at: datetime, province: str | None = None, codes: list[str] | None = None
) -> list[UnitReport]:
    with session_scope(engine) as session:
        rows = state.facts_at(session, at, province, codes)
    return [
        UnitReport(
            f.code, f.name, f.province, f.allowances_due_t, known.contact_email, unit_status(f, cycle, at)
        )
        for known, f in rows
    ]


def unit_report(engine: Engine, cycle: Cycle, code: str, at: datetime) -> UnitReport:
    found = unit_reports(engine, cycle, at, codes=[code])
    if not found:
        raise NotFound(key="no_unit", code=code, at=at)
    return found[0]


def province_report(engine: Engine, cycle: Cycle, province: str, at: datetime) -> ProvinceReport:
    units = unit_reports(engine, cycle, at, province)
    with session_scope(engine) as session:
        unmatched = state.unmatched_cancellations(session, at, province)
        known = state.provinces_known(session, at)
    if not units and province not in known:
        raise NotFound(key="no_province", province=province, known=known)
    progress = province_progress(province, [(u.code, u.status) for u in units], cycle, at)
    return ProvinceReport(progress, tuple(units), tuple(unmatched))


@dataclass(frozen=True)
class NationalReport:
    """Every province's progress at an instant, the furthest behind first."""

    at: datetime
    target_95_at: datetime
    compliance_deadline: datetime
    provinces: tuple[ProvinceProgress, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "target_95_at": self.target_95_at.isoformat(),
            "compliance_deadline": self.compliance_deadline.isoformat(),
            "provinces": [
                {
                    "province": p.province,
                    "units_total": p.units_total,
                    "units_complied": p.units_complied,
                    "completion_rate": p.completion_rate,
                    "target_95_met": p.target_95_met,
                    "target_100_met": p.target_100_met,
                    "units_needed_for_95": p.units_needed_for_95,
                    "units_needed_for_100": p.units_total - p.units_complied,
                }
                for p in self.provinces
            ],
        }


def national_report(engine: Engine, cycle: Cycle, at: datetime) -> NationalReport:
    """Each province's rate against the targets, sorted by rate (lowest first), then by name."""
    by_province: dict[str, list[UnitReport]] = {}
    for report in unit_reports(engine, cycle, at):
        by_province.setdefault(report.province, []).append(report)
    progress = [
        province_progress(province, [(u.code, u.status) for u in units], cycle, at)
        for province, units in by_province.items()
    ]
    progress.sort(key=lambda p: (p.completion_rate, -p.units_needed_for_95, p.province))
    return NationalReport(at, cycle.target_95_at, cycle.compliance_deadline, tuple(progress))


def province_names(engine: Engine, at: datetime) -> list[str]:
    with session_scope(engine) as session:
        return state.provinces_known(session, at)
