"""Which reminders (to emitters) and alerts (to provincial officers) are due on a given morning. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from compliance.cycle import Cycle
from compliance.kinds import tie_rank
from compliance.progress import province_progress
from compliance.status import UnitStatus
from compliance.workdays import is_workday

Audience = Literal["emitter", "officer"]
UnitRow = tuple[str, str, UnitStatus]  # (code, province, status at the slot)


@dataclass(frozen=True)
class DueItem:
    audience: Audience
    target: str  # unit code (emitter) or province name (officer)
    kind: str  # the primary kind after merging
    also: tuple[str, ...]  # other kinds merged into the same message that day, most urgent first
    day: date
    deadline: datetime | None
    details: Mapping[str, object]


@dataclass(frozen=True)
class _Due:
    """One kind due for one target, before the kinds of a target are merged into one message."""

    audience: Audience
    target: str
    kind: str
    deadline: datetime
    details: Mapping[str, object]


# (kind, who owes it, the deadline it reminds of); complied units owe nothing.
_EMITTER_RULES: tuple[tuple[str, Callable[[UnitStatus], bool], Callable[[Cycle], datetime]], ...] = (
    ("submit_application", lambda s: s.next_step == "submit_application", lambda c: c.window_closes),
    ("await_confirmation", lambda s: s.next_step == "await_confirmation", lambda c: c.cancellation_deadline),
    ("cancel_ccer", lambda s: s.next_step == "cancel_ccer", lambda c: c.cancellation_deadline),
    ("submit_compliance", lambda s: s.next_step == "submit_compliance", lambda c: c.compliance_deadline),
    ("compliance_deadline", lambda s: True, lambda c: c.compliance_deadline),
)


def reminder_slot(day: date, cycle: Cycle) -> datetime:
    return datetime.combine(day, cycle.reminder_time, tzinfo=cycle.tz)


def reminds_on(day: date, deadline_day: date, leads: Sequence[int]) -> bool:
    """A deadline's own day always reminds, even a rest day; its lead days only when they are working days."""
    if day == deadline_day:
        return True
    return (deadline_day - day).days in leads and is_workday(day)


def is_due(day: date, cycle: Cycle, kind: str, deadline: datetime, anchor: date | None = None) -> bool:
    """Whether `kind` reminds of `deadline` on `day`.

    The reminder days count back from `anchor` (by default the deadline's local date); without an anchor a
    deadline that has passed by the morning's slot reminds no more.
    """
    if anchor is None:
        if reminder_slot(day, cycle) >= deadline:
            return False
        anchor = deadline.astimezone(cycle.tz).date()
    return reminds_on(day, anchor, cycle.lead_days[kind])


def due_on(day: date, cycle: Cycle, units: Sequence[UnitRow]) -> list[DueItem]:
    """Every message due at `day`'s slot: one per (audience, target), officers first, then by target."""
    dues = [*_officer_dues(day, cycle, units), *_emitter_dues(day, cycle, units)]
    return sorted(_merge(day, dues), key=lambda item: (item.audience != "officer", item.target))


def _emitter_dues(day: date, cycle: Cycle, units: Sequence[UnitRow]) -> Iterator[_Due]:
    for code, province, status in units:
        if status.complied:
            continue
        for kind, owes, deadline_of in _EMITTER_RULES:
            deadline = deadline_of(cycle)
            if owes(status) and is_due(day, cycle, kind, deadline):
                yield _Due("emitter", code, kind, deadline, _emitter_details(code, province, status, cycle))


def _emitter_details(code: str, province: str, status: UnitStatus, cycle: Cycle) -> dict[str, object]:
    return {
        "status": status,
        "cycle": cycle,
        "code": code,
        "province": province,
        "next_step": status.next_step,
        "next_deadline": status.next_deadline,
        "application": status.application,
        "offset_cap_t": status.offset_cap_t,
        "requested_t": status.requested_t,
        "confirmed_t": status.confirmed_t,
        "cancelled_t": status.cancelled_t,
        "to_cancel_t": status.to_cancel_t,
        "anomalies": status.anomalies,
    }


def _officer_dues(day: date, cycle: Cycle, units: Sequence[UnitRow]) -> Iterator[_Due]:
    by_province: dict[str, list[tuple[str, UnitStatus]]] = {}
    for code, province, status in units:
        by_province.setdefault(province, []).append((code, status))
    weekly = _weekly_deadline(day, cycle) if "weekly_summary" in cycle.mail_kinds else None
    for province, members in by_province.items():
        details = _officer_details(province, members, cycle, day)
        if weekly is not None:
            yield _Due("officer", province, "weekly_summary_due", weekly, details)
        # Applications a province confirms exist in the notice's procedure only.
        confirms = cycle.procedure == "cancellation"
        if (
            confirms
            and (details["pending"] or details["no_application"])
            and is_due(day, cycle, "applications_pending", cycle.window_closes)
        ):
            yield _Due("officer", province, "applications_pending", cycle.window_closes, details)
        # Target alerts report the figure whether or not the target is met.
        if cycle.target_95_at is not None and is_due(day, cycle, "target_95", cycle.target_95_at):
            yield _Due("officer", province, "target_95", cycle.target_95_at, details)
        if is_due(day, cycle, "target_100", cycle.compliance_deadline):
            yield _Due("officer", province, "target_100", cycle.compliance_deadline, details)
        yield from _report_due(day, cycle, province, details)


def _report_due(day: date, cycle: Cycle, province: str, details: Mapping[str, object]) -> Iterator[_Due]:
    """The report on units that did not comply, where the cycle dates one."""
    if cycle.report_due is None:
        return
    deadline = datetime.combine(cycle.report_due, time(0), tzinfo=cycle.tz)
    if is_due(day, cycle, "noncompliance_report_due", deadline, anchor=cycle.report_remind_on):
        report = {**details, "report_due": cycle.report_due, "report_remind_on": cycle.report_remind_on}
        yield _Due("officer", province, "noncompliance_report_due", deadline, report)


def _weekly_deadline(day: date, cycle: Cycle) -> datetime | None:
    """The nearest weekly summary deadline inside the application window that reminds on `day`."""
    for ahead in sorted({0, *cycle.lead_days["weekly_summary_due"]}):
        candidate = day + timedelta(days=ahead)
        if candidate.weekday() != cycle.weekly_summary_weekday:
            continue
        deadline = datetime.combine(candidate, cycle.weekly_summary_time, tzinfo=cycle.tz)
        if cycle.window_opens <= deadline <= cycle.window_closes and is_due(
            day, cycle, "weekly_summary_due", deadline
        ):
            return deadline
    return None


def _officer_details(
    province: str, members: Sequence[tuple[str, UnitStatus]], cycle: Cycle, day: date
) -> dict[str, object]:
    progress = province_progress(province, members, cycle, reminder_slot(day, cycle))
    return {
        "province": province,
        "units_total": progress.units_total,
        "units_complied": progress.units_complied,
        "completion_rate": progress.completion_rate,
        "outstanding": progress.outstanding,
        "units_needed_for_95": progress.units_needed_for_95,
        "target_95_met": progress.target_95_met,
        "target_100_met": progress.target_100_met,
        "pending": tuple(sorted(code for code, s in members if s.application == "pending")),
        "no_application": tuple(
            sorted(code for code, s in members if s.application == "none" and not s.complied)
        ),
    }


def _merge(day: date, dues: Sequence[_Due]) -> Iterator[DueItem]:
    """One message per (audience, target): the kind with the nearest deadline leads, the others go along."""
    groups: dict[tuple[Audience, str], list[_Due]] = {}
    for due in dues:
        groups.setdefault((due.audience, due.target), []).append(due)
    for (audience, target), group in groups.items():
        ranked = sorted(group, key=lambda due: (due.deadline, tie_rank(due.kind)))
        details: dict[str, object] = {}
        for due in reversed(ranked):
            details.update(due.details)
        primary = ranked[0]
        also = tuple(due.kind for due in ranked[1:])
        yield DueItem(audience, target, primary.kind, also, day, primary.deadline, details)
