"""Later cycles: each obligation year on its own, offset by 全国履约抵销 operations (FORMATS.md).

A unit owes one obligation per year of the cycle; each has its allowances, its 5 % cap, its operations, its
status and its step. The unit has complied with the cycle when every year has; its next step is the first
year's that is not done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from compliance.advice import load_procedure, moment_of
from compliance.cycle import Cycle
from compliance.facts import OffsetOperation, UnitFacts, UnitStatus, YearFacts
from compliance.rules import floor_share


@dataclass(frozen=True)
class _Counted:
    held_t: int  # 待抵销 that counts
    used_t: int  # 已抵销 that counts
    requested_t: int  # every operation not withdrawn
    ineligible: bool  # old CCER used (or to be used) after it stopped counting
    kind_unknown: bool  # an operation whose list does not say which kind of CCER it is


def counts_on(operation: OffsetOperation, day: date, cycle: Cycle) -> bool:
    """Which CCER count depends on the day they are used, not on the obligation year."""
    if operation.ccer_kind == "old":
        return cycle.old_ccer_usable_until is None or day <= cycle.old_ccer_usable_until
    if operation.ccer_kind == "new":
        return cycle.new_ccer_from is None or day >= cycle.new_ccer_from
    return True  # unknown: reported to officers, not guessed against the unit


def _use_day(operation: OffsetOperation, cycle: Cycle, at: datetime) -> date:
    """已抵销: about when it was used; 待抵销: it can only be used from now on."""
    when = operation.state_known_at if operation.state == "used" else at
    return when.astimezone(cycle.tz).date()


def _count(operations: Sequence[OffsetOperation], cycle: Cycle, at: datetime) -> _Counted:
    live = [op for op in operations if op.state != "withdrawn"]
    counting = [op for op in live if counts_on(op, _use_day(op, cycle, at), cycle)]
    return _Counted(
        held_t=sum(op.quantity_t for op in counting if op.state == "held"),
        used_t=sum(op.quantity_t for op in counting if op.state == "used"),
        requested_t=sum(op.quantity_t for op in live),
        ineligible=len(counting) < len(live),
        kind_unknown=any(op.ccer_kind is None for op in live),
    )


def year_facts(facts: UnitFacts, cycle: Cycle) -> list[YearFacts]:
    """Each obligation's figures; a roster figure without a year belongs to the cycle's first obligation."""
    given = {year.year: year for year in facts.years}
    first = cycle.obligations[0]
    plain = YearFacts(first, facts.allowances_due_t, None, facts.complied)
    return [
        given.get(obligation) or (plain if obligation == first else _unknown(obligation))
        for obligation in cycle.obligations
    ]


def _unknown(obligation: str) -> YearFacts:
    return YearFacts(obligation, None, None, None)


def _operations_of(facts: UnitFacts, obligation: str, cycle: Cycle) -> list[OffsetOperation]:
    first = cycle.obligations[0]
    return [op for op in facts.operations if (op.year or first) == obligation]


def year_status(facts: UnitFacts, year: YearFacts, cycle: Cycle, at: datetime) -> UnitStatus:
    counted = _count(_operations_of(facts, year.year, cycle), cycle, at)
    cap = None if year.allowances_due_t is None else floor_share(year.allowances_due_t, cycle.cap_ratio)
    offered = counted.held_t + counted.used_t
    usable = offered if cap is None else min(offered, cap)
    complied = year.complied is True
    state = _state(complied, counted)
    moment = moment_of(cycle, at)
    rule = load_procedure(cycle.procedure).rule_for(state, moment)
    anomalies = set()
    if cap is not None and counted.requested_t > cap:
        anomalies.add("offset_over_cap")
    if counted.ineligible:
        anomalies.add("ineligible_ccer")
    due = year.allowances_due_t
    return UnitStatus(
        offset_cap_t=cap or 0,
        application="none" if offered == 0 else "confirmed",
        requested_t=counted.requested_t,
        confirmed_t=offered,
        cancelled_t=counted.used_t,
        to_cancel_t=0,
        complied=complied,
        anomalies=tuple(sorted(anomalies)),
        next_step=rule.step,
        next_deadline=rule.deadline_at(cycle),
        usable_t=usable,
        offset_t=usable,
        to_surrender_t=None if due is None else max(due - usable, 0),
        over_cap_t=max(offered - cap, 0) if cap is not None else 0,
        advice=rule.say,
        overdue=moment == "overdue" and not complied,
        state=state,
        moment=moment,
        chase=("ccer_kind_unknown",) if counted.kind_unknown and not complied else (),
        procedure=cycle.procedure,
        obligation=year.year,
        allowances_due_t=due,
        held_t=min(counted.held_t, usable),
        used_t=counted.used_t,
    )


def _state(complied: bool, counted: _Counted) -> str:
    if complied:
        return "complied"
    if counted.held_t:
        return "held"
    return "used" if counted.used_t else "no_operation"


def operations_status(facts: UnitFacts, cycle: Cycle, at: datetime) -> UnitStatus:
    """The unit's status in the cycle: every year's, and the years folded into one."""
    years = tuple(year_status(facts, year, cycle, at) for year in year_facts(facts, cycle))
    lead = next((y for y in years if not y.complied), years[0])
    dues = [y.allowances_due_t for y in years]
    return replace(
        lead,
        offset_cap_t=sum(y.offset_cap_t for y in years),
        requested_t=sum(y.requested_t for y in years),
        confirmed_t=sum(y.confirmed_t for y in years),
        cancelled_t=sum(y.cancelled_t for y in years),
        usable_t=sum(y.usable_t for y in years),
        offset_t=sum(y.offset_t for y in years),
        held_t=sum(y.held_t for y in years),
        used_t=sum(y.used_t for y in years),
        over_cap_t=sum(y.over_cap_t for y in years),
        to_surrender_t=None if None in dues else sum(y.to_surrender_t or 0 for y in years),
        allowances_due_t=None if None in dues else sum(d or 0 for d in dues),
        application="confirmed" if any(y.application == "confirmed" for y in years) else "none",
        complied=all(y.complied for y in years),
        anomalies=tuple(sorted({a for y in years for a in y.anomalies})),
        chase=tuple(sorted({c for y in years for c in y.chase})),
        years=years if len(years) > 1 else (),
        obligation=None if len(years) > 1 else years[0].obligation,
    )
