"""What the bot says about a unit or a province at an instant: storage facts through compliance rules.

The command line (--json) and the chat views both read these, so a figure is computed in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.telling import Telling
from compliance.cycle import SECTORS, Cycle
from compliance.progress import ProvinceProgress, province_progress
from compliance.status import UnitFacts, UnitStatus, unit_status
from storage import state
from storage.engine import session_scope, snapshot_scope
from storage.models import CancellationRecord

REPORTS_AT_ONCE = 1000  # units whose facts are read together when every unit is reported


class NotFound(Telling, LookupError):
    """No such unit or province at that instant, said in one line."""


class NoRosterYet(NotFound):
    """The database knows no roster at that instant: the reason nothing is found is not the unit."""

    def __init__(self, cycle: Cycle, at: datetime) -> None:
        super().__init__(
            f"截至 {at:%Y-%m-%d %H:%M}，数据库中还没有 {cycle.name} 履约周期的任何名单邮件："
            "请先用 ccerbot ingest 收取邮件，或用 ccerbot run 从邮箱收取"
        )


def _require_rosters(engine: Engine, cycle: Cycle, at: datetime) -> list[str]:
    """The provinces known at the instant; NoRosterYet when there are none."""
    with session_scope(engine) as session:
        known = state.provinces_known(session, at)
    if not known:
        raise NoRosterYet(cycle, at)
    return known


@dataclass(frozen=True)
class UnitReport:
    code: str
    name: str
    province: str
    allowances_due_t: int | None
    contact_email: str | None
    status: UnitStatus
    sector: str | None = None

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
            "sector": self.sector,
            "held_t": s.held_t,
            "used_t": s.used_t,
            "to_surrender_t": s.to_surrender_t,
            "years": [_year_json(y) for y in s.years],
            "anomalies": sorted(s.anomalies),
            "next_step": s.next_step,
            "next_deadline": s.next_deadline.isoformat() if s.next_deadline else None,
        }


def _year_json(s: UnitStatus) -> dict[str, Any]:
    return {
        "obligation": s.obligation,
        "allowances_due_t": s.allowances_due_t,
        "offset_cap_t": s.offset_cap_t,
        "held_t": s.held_t,
        "used_t": s.used_t,
        "complied": s.complied,
        "anomalies": list(s.anomalies),
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
            **progress_json(p),
            "unmatched_cancellations": len(self.unmatched),
            "outstanding": list(p.outstanding),
            "anomalies": sum(len(u.status.anomalies) for u in self.units),
            "by_sector": sectors_json(self.by_sector()),
        }

    def by_sector(self) -> list[tuple[str, int, int]]:
        """(sector, units, complied) for each sector the roster names, in the cycle data's order."""
        return sector_counts(self.units)


def progress_json(p: ProvinceProgress) -> dict[str, Any]:
    return {
        "province": p.province,
        "units_total": p.units_total,
        "units_complied": p.units_complied,
        "completion_rate": p.completion_rate,
        "target_95_met": p.target_95_met,
        "target_100_met": p.target_100_met,
        "units_needed_for_95": p.units_needed_for_95,
    }


def sectors_json(counts: Sequence[tuple[str, int, int]]) -> dict[str, dict[str, int]]:
    return {sector: {"units_total": total, "units_complied": done} for sector, total, done in counts}


def sector_counts(units: Sequence[UnitReport]) -> list[tuple[str, int, int]]:
    totals: Counter[str] = Counter(u.sector or "unknown" for u in units)
    done: Counter[str] = Counter(u.sector or "unknown" for u in units if u.status.complied)
    order = {sector: index for index, sector in enumerate((*SECTORS, "unknown"))}
    return [(sector, totals[sector], done[sector]) for sector in sorted(totals, key=order.__getitem__)]


def unit_reports(
    engine: Engine, cycle: Cycle, at: datetime, province: str | None = None, codes: list[str] | None = None
) -> list[UnitReport]:
    if province is None and codes is None:
        return sorted((r for chunk in report_chunks(engine, cycle, at) for r in chunk), key=in_order)
    with snapshot_scope(engine) as session:
        return _reports(session, cycle, at, province, codes)


def report_chunks(engine: Engine, cycle: Cycle, at: datetime) -> Iterator[list[UnitReport]]:
    """Every unit's report, REPORTS_AT_ONCE units at a time (by code; unit_reports sorts them by province
    too): every unit's rows read at once took four times the memory of their reports, 40 MB for 10,000
    units, and a caller that keeps a few of them need not hold them all."""
    with snapshot_scope(engine) as session:  # every unit as of one moment, though intake goes on
        codes = state.codes_known(session, at)
        for start in range(0, len(codes), REPORTS_AT_ONCE):
            yield _reports(session, cycle, at, None, codes[start : start + REPORTS_AT_ONCE])


def in_order(report: UnitReport) -> tuple[str, str]:
    """facts_at's order."""
    return report.province, report.code


def _reports(
    session: Session, cycle: Cycle, at: datetime, province: str | None, codes: list[str] | None
) -> list[UnitReport]:
    return [
        UnitReport(
            f.code,
            f.name,
            f.province,
            f.allowances_due_t,
            known.contact_email,
            unit_status(f, cycle, at),
            f.sector,
        )
        for known, f in state.facts_at(session, at, province, codes)
    ]


def unit_facts(engine: Engine, code: str, at: datetime) -> tuple[UnitFacts, str | None] | None:
    """The unit's facts at `at` (that unit's rows only) and its contact address; None when no roster
    known then lists it."""
    with snapshot_scope(engine) as session:
        rows = state.facts_at(session, at, codes=[code])
    if not rows:
        return None
    known, facts = rows[0]
    return facts, known.contact_email


def report_of(facts: UnitFacts, email: str | None, cycle: Cycle, at: datetime) -> UnitReport:
    status = unit_status(facts, cycle, at)
    return UnitReport(
        facts.code, facts.name, facts.province, facts.allowances_due_t, email, status, facts.sector
    )


def unit_report(engine: Engine, cycle: Cycle, code: str, at: datetime) -> UnitReport | None:
    """The unit's report at `at`; None when no roster known then lists it. The one way to one unit's
    report: each caller says "not found" its own way (the chat in its answer, the CLI by `no_unit`)."""
    found = unit_facts(engine, code, at)
    return report_of(*found, cycle, at) if found else None


def no_unit(engine: Engine, cycle: Cycle, code: str, at: datetime) -> Telling:
    """Why a unit has no report, for the command line: no roster at all yet, or none listing it."""
    _require_rosters(engine, cycle, at)
    return NotFound(key="no_unit", code=code, at=at)


def province_report(engine: Engine, cycle: Cycle, province: str, at: datetime) -> ProvinceReport:
    with snapshot_scope(engine) as session:  # the units and the unmatched records of one moment
        units = _reports(session, cycle, at, province, None)
        unmatched = state.unmatched_cancellations(session, at, province)
        known = state.provinces_known(session, at)
    if not units and province not in known:
        _require_rosters(engine, cycle, at)
        raise NotFound(key="no_province", province=province, known=known)
    progress = province_progress(province, [(u.code, u.status) for u in units], cycle, at)
    return ProvinceReport(progress, tuple(units), tuple(unmatched))


@dataclass(frozen=True)
class NationalReport:
    """Every province's progress at an instant, the furthest behind first."""

    at: datetime
    target_95_at: datetime | None  # None: the cycle states no interim target
    compliance_deadline: datetime
    provinces: tuple[ProvinceProgress, ...]
    sectors: tuple[tuple[str, int, int], ...] = ()  # (sector, units, complied) nationally, where rosters say

    def to_json(self) -> dict[str, Any]:
        return {
            "by_sector": sectors_json(self.sectors),
            "at": self.at.isoformat(),
            "target_95_at": self.target_95_at.isoformat() if self.target_95_at else None,
            "compliance_deadline": self.compliance_deadline.isoformat(),
            "provinces": [
                {**progress_json(p), "units_needed_for_100": p.units_total - p.units_complied}
                for p in self.provinces
            ],
        }


def national_report(engine: Engine, cycle: Cycle, at: datetime) -> NationalReport:
    """Each province's rate against the targets, sorted by rate (lowest first), then by name."""
    by_province: dict[str, list[UnitReport]] = {}
    everyone = unit_reports(engine, cycle, at)
    for report in everyone:
        by_province.setdefault(report.province, []).append(report)
    progress = [
        province_progress(province, [(u.code, u.status) for u in units], cycle, at)
        for province, units in by_province.items()
    ]
    progress.sort(key=lambda p: (p.completion_rate, -p.units_needed_for_95, p.province))
    sectors = tuple(sector_counts(everyone)) if any(u.sector for u in everyone) else ()
    return NationalReport(at, cycle.target_95_at, cycle.compliance_deadline, tuple(progress), sectors)


def province_names(engine: Engine, at: datetime) -> list[str]:
    with session_scope(engine) as session:
        return state.provinces_known(session, at)
