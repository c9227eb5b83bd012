"""What is known about a unit (its facts) and what follows from them (its status): the types compliance
works on, shared by both procedures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from compliance.advice import Moment, NextStep
from compliance.rules import IneligibleWhy

Application = Literal["none", "pending", "confirmed", "rejected"]
LineResult = Literal["pending", "confirmed", "rejected"]


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


OperationState = Literal["held", "used", "withdrawn"]  # 待抵销 / 已抵销 / 已撤销
CcerKind = Literal["old", "new"]  # 存量（2017-03-14 前备案）/ 新（2024-01-22 后登记）


@dataclass(frozen=True)
class YearFacts:
    """One obligation year of a unit, from the latest roster that gives it (per-year columns)."""

    year: str  # the obligation: "2021", "2022", "2025"; the first cycle's combined one is "2019-2020"
    allowances_due_t: int | None
    surrendered_t: int | None
    complied: bool | None


@dataclass(frozen=True)
class OffsetOperation:
    """A 全国履约抵销 operation (later cycles), in its latest state known at the instant."""

    year: str | None  # 抵销年度; None: the cycle's only obligation
    quantity_t: int
    state: OperationState
    operated_on: date
    state_known_at: datetime  # when its latest state became known (for 已抵销: about when it was used)
    ccer_kind: CcerKind | None  # None: the list does not say
    project_no: str | None
    project_name: str | None


@dataclass(frozen=True)
class UnitFacts:
    """What is known about a unit at an instant, within one cycle."""

    code: str
    name: str
    province: str
    allowances_due_t: int | None
    complied: bool | None  # from the latest roster that says so; None: unknown
    lines: tuple[ApplicationLine, ...]  # the unit's rows in the latest weekly snapshot; empty: no application
    cancellations: tuple[Cancellation, ...]
    # Second-cycle style rosters give each year's allowances: (year, tonnes) pairs, capped year by year.
    allowances_by_year_t: tuple[tuple[int, int], ...] = ()
    sector: str | None = None  # power | steel | cement | aluminium (mail/headers.toml maps the words)
    years: tuple[YearFacts, ...] = ()  # per-year roster figures; empty: the roster gives one figure
    operations: tuple[OffsetOperation, ...] = ()
    # The latest cancellation the province's lists have given; None: no list yet. Whether a unit cancelled in
    # time is known once a list has reached the deadline day.
    listed_through: datetime | None = None


@dataclass(frozen=True)
class Ineligible:
    project_no: str | None
    project_name: str | None
    why: IneligibleWhy


@dataclass(frozen=True)
class UnitStatus:
    offset_cap_t: int  # 0 while the allowances due are unknown
    application: Application
    requested_t: int
    confirmed_t: int
    cancelled_t: int  # every cancellation record, in time or not
    to_cancel_t: int  # what may still be cancelled and counted; 0 once the cancellation deadline has passed
    complied: bool
    anomalies: tuple[str, ...]  # FORMATS.md's anomalies of the unit
    next_step: NextStep
    next_deadline: datetime | None
    usable_t: int = 0  # confirmed, but never more than the cap
    offset_t: int = 0  # CCER that counts: cancelled by the deadline, up to what is usable
    late_cancelled_t: int = 0  # cancelled after the cancellation deadline: does not count
    to_surrender_t: int | None = None  # allowances still to surrender once the CCER that can count is used
    over_cap_t: int = 0  # confirmed above the cap
    advice: str | None = None  # what to say besides the step (templates/labels.toml [advice])
    overdue: bool = False  # the compliance deadline has passed and the unit has not complied
    state: str = ""  # the row of the procedure's rule table that decided the step
    moment: Moment = "window_open"
    chase: tuple[str, ...] = ()  # officer-only flags: what an officer must chase (not an anomaly of the unit)
    ineligible: tuple[Ineligible, ...] = ()
    procedure: str = "cancellation"  # which rule table decided: compliance/procedures/<procedure>.toml
    obligation: str | None = None  # the obligation year this status is for; None: several, see `years`
    allowances_due_t: int | None = None  # of this obligation (or all of them)
    held_t: int = 0  # CCER held as 待抵销 that counts (later cycles)
    used_t: int = 0  # CCER already used (已抵销) that counts (later cycles)
    years: tuple[UnitStatus, ...] = ()  # each obligation year's own status, where the cycle has several

    @property
    def officer_alerts(self) -> tuple[str, ...]:
        """What the province's officers are alerted to, once each: the anomalies and what to chase."""
        return tuple(sorted({*self.anomalies, *self.chase}))
