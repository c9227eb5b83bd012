from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from types import MappingProxyType

import pytest

from compliance.cycle import Cycle, load_cycle
from compliance.due import DueItem, due_on, reminder_slot
from compliance.status import UnitFacts, UnitStatus, unit_status
from tests.compliance.builders import SHANGHAI, at, cancelled, facts, line
from tests.compliance.samples import GD, REMINDERS_1215, REMINDERS_1231, SD, UNITS

FIRST = load_cycle("2019-2020")
SECOND = load_cycle("2021-2022")

CONFIRMED = facts(code="A", lines=(line(100),))  # owes cancel_ccer
PENDING = facts(code="B", lines=(line(100, "pending"),))
NO_APPLICATION = facts(code="C")
REJECTED = facts(code="D", lines=(line(100, "rejected"),))
CANCELLED = facts(code="E", lines=(line(100),), cancellations=(cancelled(100),))  # owes submit_compliance
COMPLIED = facts(code="F", complied=True, lines=(line(100, "pending"),))


def rows(day: date, cycle: Cycle, units: list[UnitFacts]) -> list[tuple[str, str, UnitStatus]]:
    slot = reminder_slot(day, cycle)
    return [(u.code, u.province, unit_status(u, cycle, slot)) for u in units]


def due(day: date, units: list[UnitFacts], cycle: Cycle = FIRST) -> list[DueItem]:
    return due_on(day, cycle, rows(day, cycle, units))


def kinds_of(items: list[DueItem], target: str) -> set[str]:
    return {kind for item in items if item.target == target for kind in (item.kind, *item.also)}


def days_with(
    kind: str, target: str, units: list[UnitFacts], start: date, end: date, cycle: Cycle = FIRST
) -> list[date]:
    found = []
    day = start
    while day <= end:
        if kind in kinds_of(due(day, units, cycle), target):
            found.append(day)
        day += timedelta(days=1)
    return found


def with_leads(cycle: Cycle, **leads: tuple[int, ...]) -> Cycle:
    return replace(cycle, lead_days=MappingProxyType({**cycle.lead_days, **leads}))


def sample_rows(day: date, final: bool) -> list[tuple[str, str, UnitStatus]]:
    units = [u.facts(u.complied_final if final else u.complied_1214) for u in UNITS]
    return rows(day, FIRST, units)


def summary(items: list[DueItem]) -> dict[str, dict[str, object]]:
    emitters: dict[str, object] = {i.target: i.kind for i in items if i.audience == "emitter"}
    officers: dict[str, object] = {
        i.target: (i.kind, i.details["units_total"], i.details["units_complied"])
        for i in items
        if i.audience == "officer"
    }
    return {"emitters": emitters, "officers": officers}


def test_reminder_slot_is_nine_in_the_morning_in_beijing() -> None:
    slot = reminder_slot(date(2021, 12, 15), FIRST)
    assert slot == datetime(2021, 12, 15, 9, 0, tzinfo=SHANGHAI)
    assert slot.utcoffset() == timedelta(hours=8)


def test_cancellation_deadline_morning_matches_the_samples() -> None:
    items = due_on(date(2021, 12, 15), FIRST, sample_rows(date(2021, 12, 15), final=False))
    assert summary(items) == REMINDERS_1215
    for item in items:
        assert item.also == ()
        assert item.day == date(2021, 12, 15)
    emitters = {i.target: i for i in items if i.audience == "emitter"}
    assert emitters["913703082HD1TJ3Y9U"].details["to_cancel_t"] == 642000 - 214000
    assert emitters["91440923DBMWCY74XP"].details["to_cancel_t"] == 267300 - 89100
    assert emitters["913703082HD1TJ3Y9U"].deadline == FIRST.cancellation_deadline
    officers = {i.target: i for i in items if i.audience == "officer"}
    assert officers[SD].deadline == FIRST.target_95_at
    assert officers[SD].details["outstanding"] == tuple(
        sorted(u.code for u in UNITS if u.province == SD and not u.complied_1214)
    )


def test_compliance_deadline_morning_matches_the_samples() -> None:
    items = due_on(date(2021, 12, 31), FIRST, sample_rows(date(2021, 12, 31), final=True))
    assert summary(items) == REMINDERS_1231
    for item in items:
        assert item.deadline == FIRST.compliance_deadline
    officers = {i.target: i for i in items if i.audience == "officer"}
    assert officers[GD].details["outstanding"] == (
        "91440412K02U6KC433",
        "91440923DBMWCY74XP",
        "914417124NHX0QG90C",
    )


def test_order_is_officers_then_emitters_by_target_whatever_the_input_order() -> None:
    day = date(2021, 12, 31)
    units = sample_rows(day, final=True)
    expected = due_on(day, FIRST, units)
    assert [i.audience for i in expected] == ["officer"] * 2 + ["emitter"] * 6
    assert [i.target for i in expected[:2]] == sorted([SD, GD])
    assert [i.target for i in expected[2:]] == sorted(i.target for i in expected[2:])
    shuffled = list(units)
    random.Random(7).shuffle(shuffled)
    assert due_on(day, FIRST, shuffled) == expected


def test_lead_days_remind_on_working_days_and_the_deadline_day_always() -> None:
    cycle = with_leads(FIRST, cancel_ccer=(7, 3, 1))
    # 2021-12-12 (three days before) is a Sunday: no reminder that day.
    assert days_with("cancel_ccer", "A", [CONFIRMED], date(2021, 12, 1), date(2021, 12, 20), cycle) == [
        date(2021, 12, 8),
        date(2021, 12, 14),
        date(2021, 12, 15),
    ]


def test_the_deadline_day_reminds_even_without_leads() -> None:
    cycle = with_leads(FIRST, cancel_ccer=())
    assert days_with("cancel_ccer", "A", [CONFIRMED], date(2021, 12, 1), date(2021, 12, 20), cycle) == [
        date(2021, 12, 15)
    ]


def test_a_deadline_on_a_rest_day_still_reminds_that_day() -> None:
    # The second cycle ends on Sunday 2023-12-31; Saturday the 30th, one day before, stays quiet.
    assert date(2023, 12, 31).weekday() == 6
    cycle = with_leads(SECOND, compliance_deadline=(1, 3))
    found = days_with(
        "compliance_deadline", "C", [NO_APPLICATION], date(2023, 12, 20), date(2024, 1, 5), cycle
    )
    assert found == [date(2023, 12, 28), date(2023, 12, 31)]


def test_a_deadline_earlier_in_the_day_than_the_slot_does_not_remind_after_it() -> None:
    cycle = replace(FIRST, cancellation_deadline=at(2021, 12, 15, 8), target_95_at=at(2021, 12, 15, 8))
    assert "cancel_ccer" not in kinds_of(due(date(2021, 12, 15), [CONFIRMED], cycle), "A")
    assert "cancel_ccer" in kinds_of(due(date(2021, 12, 14), [CONFIRMED], cycle), "A")


def test_emitter_kinds_follow_the_next_step() -> None:
    units = [CONFIRMED, PENDING, NO_APPLICATION, REJECTED, CANCELLED, COMPLIED]
    # 2021-12-10: the window closes today; all leads of the shipped cycle are about later deadlines.
    cycle = with_leads(
        FIRST, await_confirmation=(5,), cancel_ccer=(5,), submit_compliance=(21,), compliance_deadline=(21,)
    )
    items = due(date(2021, 12, 10), units, cycle)
    assert {i.target: (i.kind, set(i.also)) for i in items if i.audience == "emitter"} == {
        "A": ("cancel_ccer", {"compliance_deadline"}),
        "B": ("await_confirmation", {"compliance_deadline"}),
        "C": ("submit_application", {"compliance_deadline"}),
        # Rejected while the window is still open: it may be corrected and submitted again.
        "D": ("submit_application", {"compliance_deadline"}),
        "E": ("compliance_deadline", {"submit_compliance"}),
    }


def test_nothing_reminds_after_its_deadline() -> None:
    cycle = with_leads(FIRST, cancel_ccer=(1,), await_confirmation=(1,), submit_application=(1,))
    day = date(2021, 12, 16)
    for unit in (CONFIRMED, PENDING):
        assert kinds_of(due(day, [unit], cycle), unit.code) == set()
    assert kinds_of(due(date(2021, 12, 13), [NO_APPLICATION], cycle), "C") == set()
    assert kinds_of(due(date(2022, 1, 4), [NO_APPLICATION], cycle), "C") == set()


def test_complied_units_get_no_reminder() -> None:
    for day in (date(2021, 12, 10), date(2021, 12, 15), date(2021, 12, 31)):
        assert [i for i in due(day, [COMPLIED]) if i.audience == "emitter"] == []


def test_merged_messages_lead_with_the_nearest_deadline() -> None:
    cycle = with_leads(FIRST, compliance_deadline=(16,))
    (item,) = [i for i in due(date(2021, 12, 15), [CONFIRMED], cycle) if i.audience == "emitter"]
    assert (item.kind, item.also, item.deadline) == (
        "cancel_ccer",
        ("compliance_deadline",),
        FIRST.cancellation_deadline,
    )
    assert item.details["to_cancel_t"] == 100
    assert item.details["next_step"] == "cancel_ccer"


def test_on_a_shared_deadline_compliance_deadline_leads_before_cancel_ccer() -> None:
    cycle = replace(FIRST, cancellation_deadline=FIRST.compliance_deadline)
    (item,) = [i for i in due(date(2021, 12, 31), [CONFIRMED], cycle) if i.audience == "emitter"]
    assert (item.kind, item.also) == ("compliance_deadline", ("cancel_ccer",))


def test_weekly_summary_is_due_every_friday_of_the_window() -> None:
    fridays = days_with("weekly_summary_due", SD, [CONFIRMED], date(2021, 10, 20), date(2021, 12, 24))
    assert fridays == [date(2021, 10, 29) + timedelta(weeks=week) for week in range(7)]
    assert fridays[-1] == date(2021, 12, 10)
    (item,) = [i for i in due(date(2021, 11, 5), [CONFIRMED]) if i.audience == "officer"]
    assert item.kind == "weekly_summary_due" and item.deadline == at(2021, 11, 5, 17)


def test_weekly_summary_leads_remind_before_friday() -> None:
    cycle = with_leads(FIRST, weekly_summary_due=(1,))
    found = days_with("weekly_summary_due", SD, [CONFIRMED], date(2021, 11, 1), date(2021, 11, 14), cycle)
    assert found == [date(2021, 11, 4), date(2021, 11, 5), date(2021, 11, 11), date(2021, 11, 12)]


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ([PENDING], True),
        ([NO_APPLICATION], True),
        ([CONFIRMED, REJECTED], False),
        ([COMPLIED], True),  # still pending with the province
        ([replace(NO_APPLICATION, complied=True)], False),  # complied without offsets
    ],
)
def test_applications_pending_alert(units: list[UnitFacts], expected: bool) -> None:
    cycle = with_leads(FIRST, applications_pending=(1,))
    assert ("applications_pending" in kinds_of(due(date(2021, 12, 9), units, cycle), SD)) is expected
    assert "applications_pending" not in kinds_of(due(date(2021, 12, 8), units, cycle), SD)


def test_applications_pending_lists_the_codes() -> None:
    cycle = with_leads(FIRST, applications_pending=(1,))
    (officer,) = [
        i
        for i in due(date(2021, 12, 9), [PENDING, NO_APPLICATION, CONFIRMED], cycle)
        if i.audience == "officer"
    ]
    assert officer.kind == "applications_pending"
    assert officer.details["pending"] == ("B",)
    assert officer.details["no_application"] == ("C",)


def test_target_alerts_report_the_figure_even_when_met() -> None:
    items = due(date(2021, 12, 15), [COMPLIED])
    (officer,) = [i for i in items if i.audience == "officer"]
    assert officer.kind == "target_95"
    assert (officer.details["units_total"], officer.details["units_complied"]) == (1, 1)
    assert officer.details["outstanding"] == ()
    assert officer.details["target_95_met"] is True


def test_target_95_stops_once_its_instant_has_passed() -> None:
    cycle = with_leads(FIRST, target_95=(1,))
    assert days_with("target_95", SD, [CONFIRMED], date(2021, 12, 10), date(2021, 12, 20), cycle) == [
        date(2021, 12, 14),
        date(2021, 12, 15),
    ]


def test_target_100_on_the_last_day_and_its_leads() -> None:
    cycle = with_leads(FIRST, target_100=(7, 2))
    found = days_with(
        "target_100", GD, [replace(CONFIRMED, province=GD)], date(2021, 12, 16), date(2022, 1, 5), cycle
    )
    assert found == [date(2021, 12, 24), date(2021, 12, 29), date(2021, 12, 31)]


def test_noncompliance_report_reminds_on_the_working_day_before_a_saturday() -> None:
    cycle = with_leads(FIRST, noncompliance_report_due=(3,))
    found = days_with("noncompliance_report_due", SD, [REJECTED], date(2022, 1, 1), date(2022, 1, 20), cycle)
    assert found == [date(2022, 1, 11), date(2022, 1, 14)]
    (item,) = due(date(2022, 1, 14), [REJECTED], cycle)
    assert item.kind == "noncompliance_report_due"
    assert item.details["report_due"] == date(2022, 1, 15)
    assert item.details["outstanding"] == ("D",)
    assert item.deadline is not None and item.deadline.date() == date(2022, 1, 15)


def test_a_province_without_units_gets_nothing() -> None:
    assert due_on(date(2021, 12, 15), FIRST, []) == []


def test_shipped_leads_keep_the_two_deadline_mornings_clean() -> None:
    # One unit of each kind: on 12-15 only cancel_ccer, on 12-31 only compliance_deadline lead a message,
    # and neither morning carries kinds about other deadlines.
    units = [CONFIRMED, PENDING, NO_APPLICATION, REJECTED, CANCELLED]
    on_15 = due(date(2021, 12, 15), units)
    assert {(i.target, i.kind, i.also) for i in on_15} == {
        (SD, "target_95", ()),
        ("A", "cancel_ccer", ()),
        ("B", "await_confirmation", ()),
    }
    on_31 = due(date(2021, 12, 31), units)
    assert {(i.target, i.kind) for i in on_31} == {
        (SD, "target_100"),
        *((code, "compliance_deadline") for code in "ABCDE"),
    }
    assert {i.target: i.also for i in on_31}["E"] == ("submit_compliance",)


def test_years_without_holiday_data_still_schedule() -> None:
    shift = timedelta(weeks=52 * 20)  # same weekdays, twenty years on: 2041
    cycle = replace(
        with_leads(FIRST, cancel_ccer=(7, 3, 1)),
        window_opens=FIRST.window_opens + shift,
        window_closes=FIRST.window_closes + shift,
        cancellation_deadline=FIRST.cancellation_deadline + shift,
        target_95_at=FIRST.target_95_at + shift,
        compliance_deadline=FIRST.compliance_deadline + shift,
    )
    deadline_day = cycle.cancellation_deadline.date()
    found = days_with("cancel_ccer", "A", [CONFIRMED], deadline_day - timedelta(days=10), deadline_day, cycle)
    assert found == [deadline_day - timedelta(days=n) for n in (7, 1, 0)]  # three days before is a Sunday


def test_invariants_over_the_whole_first_cycle() -> None:
    day, end = date(2021, 10, 20), date(2022, 1, 20)
    while day <= end:
        final = day >= date(2021, 12, 31)
        units = sample_rows(day, final) + rows(day, FIRST, [CONFIRMED, PENDING, NO_APPLICATION, CANCELLED])
        items = due_on(day, FIRST, units)
        keys = [(i.audience, i.target) for i in items]
        assert len(keys) == len(set(keys))
        slot = reminder_slot(day, FIRST)
        complied = {code for code, _, status in units if status.complied}
        for item in items:
            assert item.kind not in item.also and len(set(item.also)) == len(item.also)
            assert item.day == day
            assert item.deadline is not None and item.deadline >= slot
            assert item.audience == "officer" or item.target not in complied
        day += timedelta(days=1)


def test_the_2025_deadline_reminds_on_the_right_mornings() -> None:
    """2026-12-31 (end of the day, no interim target): 30, 14, 7, 3 and 1 days before on working days, and
    the day itself; the deadline leads the message, offsetting is optional and goes along."""
    current = load_cycle("2025")
    unit = facts(code="A")
    found = days_with("compliance_deadline", "A", [unit], date(2026, 11, 1), date(2027, 1, 2), current)
    assert found == [date(2026, 12, d) for d in (1, 17, 24, 28, 30, 31)]
    last = due(date(2026, 12, 31), [unit, replace(COMPLIED, code="F")], current)
    assert {(i.audience, i.target, i.kind, i.also) for i in last} == {
        ("officer", "山东省", "target_100", ()),
        ("emitter", "A", "compliance_deadline", ("submit_application",)),
    }
