"""What an officer checks in an emitter's application (附件1 第四步), as the cycle's rules word it.

Each check passes, fails or cannot be told (None: the roster's figure is not known yet, say). The checks
advise; only an officer's decision confirms or returns an application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from compliance.cycle import Cycle
from compliance.rules import ineligible_because, offset_cap

CHECKS = ("readable", "matched", "window", "cap", "vintage", "excluded", "no_earlier")
# Why an officer returns an application: the usual reasons, chosen with one press (their words are data).
RETURN_REASONS = (
    "over_cap",
    "ineligible_ccer",
    "window_closed",
    "figures_wrong",
    "unit_unknown",
    "duplicate",
)
# The check that, when it fails, suggests each reason.
REASON_OF_CHECK = {
    "cap": "over_cap",
    "vintage": "ineligible_ccer",
    "excluded": "ineligible_ccer",
    "window": "window_closed",
    "readable": "figures_wrong",
    "matched": "unit_unknown",
    "no_earlier": "duplicate",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: cannot be told yet
    values: dict[str, str | int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    project_no: str | None
    vintage_end: date | None


def check_application(
    cycle: Cycle,
    received_at: datetime,
    *,
    problems: Sequence[str],
    matched: bool,
    roster_due_t: int | None,
    requested_t: int | None,
    projects: Sequence[Project],
    earlier_pending: int | None,
) -> list[Check]:
    """Every check of one application, in the order an officer reads them."""
    cap = offset_cap(roster_due_t, cycle) if roster_due_t is not None else None
    over = None if cap is None or requested_t is None else requested_t > cap
    vintage = [p.project_no or "" for p in projects if ineligible_because(None, p.vintage_end, cycle)]
    excluded = [p.project_no or "" for p in projects if ineligible_because(p.project_no, None, cycle)]
    return [
        Check("readable", not problems, {"problems": "；".join(problems)}),
        Check("matched", matched),
        Check(
            "window",
            cycle.window_opens <= received_at <= cycle.window_closes,
            {"opens": cycle.window_opens.isoformat(), "closes": cycle.window_closes.isoformat()},
        ),
        Check(
            "cap",
            None if over is None else not over,
            {"cap": cap, "due": roster_due_t, "requested": requested_t},
        ),
        Check(
            "vintage",
            not vintage,
            {"projects": "、".join(vintage), "cutoff": str(cycle.vintage_cutoff or "")},
        ),
        Check("excluded", not excluded, {"projects": "、".join(excluded)}),
        Check("no_earlier", earlier_pending is None, {"earlier": earlier_pending}),
    ]


def suggested_reasons(checks: Sequence[Check]) -> list[str]:
    """The return reasons the failed checks point to, in the order of RETURN_REASONS."""
    failed = {REASON_OF_CHECK[c.name] for c in checks if c.ok is False}
    return [r for r in RETURN_REASONS if r in failed]


def window_open(cycle: Cycle, at: datetime) -> bool:
    return cycle.window_opens <= at <= cycle.window_closes


@dataclass(frozen=True)
class SummaryDay:
    """When a Friday's summary is composed, chased and due (附件1 第四步: 每周汇总，于周五下班前发送)."""

    compose_at: datetime
    chase_at: datetime
    due_at: datetime


def summary_day(cycle: Cycle, day: date) -> SummaryDay | None:
    """The summary moments of `day` when it is the cycle's summary weekday in its application season
    (from the window's opening to the first summary day after it closes); else None."""
    if "weekly_summary" not in cycle.mail_kinds or day.weekday() != cycle.weekly_summary_weekday:
        return None
    first, closes = cycle.window_opens.astimezone(cycle.tz).date(), cycle.window_closes.astimezone(cycle.tz)
    if day < first or day > closes.date() + timedelta(days=7):
        return None

    def at(moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=cycle.tz)

    return SummaryDay(
        at(cycle.summary_compose_time), at(cycle.summary_chase_time), at(cycle.weekly_summary_time)
    )
