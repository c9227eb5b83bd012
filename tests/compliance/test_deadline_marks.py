"""Which deadline a unit met or missed: ✔ only for what it did in time, ✘ for what it did not."""

from __future__ import annotations

from datetime import datetime, timedelta

from compliance.cycle import Cycle
from compliance.deadline_marks import DeadlineMark, deadline_marks
from compliance.status import UnitFacts
from tests.compliance.builders import at, cancelled, facts, line

AFTER_ALL = at(2022, 1, 20)


def marks(unit: UnitFacts | None, cycle: Cycle, when: datetime = AFTER_ALL) -> dict[str, DeadlineMark]:
    return {m.deadline.key: m for m in deadline_marks(unit, cycle, when)}


def test_before_a_deadline_it_is_to_come_and_after_it_only_passed_without_a_unit(first: Cycle) -> None:
    early = marks(facts(), first, at(2021, 11, 1))
    assert early["window_opens"].mark == "passed"
    assert early["window_closes"].mark == "upcoming"
    last = max(d.at for d in first.deadlines)
    assert {m.mark for m in marks(None, first, last + timedelta(days=1)).values()} == {"passed"}


def test_a_unit_that_cancelled_everything_in_time_and_complied_met_each_deadline(first: Cycle) -> None:
    unit = facts(complied=True, lines=(line(20_000),), cancellations=(cancelled(20_000),))
    found = marks(unit, first)
    assert [found[k].mark for k in ("window_closes", "cancellation_deadline", "compliance_deadline")] == [
        "met",
        "met",
        "met",
    ]
    assert found["cancellation_deadline"].in_time_t == 20_000
    assert found["target_95"].mark == "passed"  # the province's target, not the unit's


def test_a_late_cancellation_misses_the_cancellation_deadline(first: Cycle) -> None:
    late = cancelled(15_000, at(2021, 12, 16, 10))
    unit = facts(lines=(line(20_000),), cancellations=(cancelled(5_000), late))
    found = marks(unit, first)["cancellation_deadline"]
    assert (found.mark, found.in_time_t, found.short_t) == ("missed", 5_000, 15_000)


def test_a_cancellation_on_the_deadline_itself_is_in_time(first: Cycle) -> None:
    unit = facts(lines=(line(20_000),), cancellations=(cancelled(20_000, first.cancellation_deadline),))
    assert marks(unit, first)["cancellation_deadline"].mark == "met"


def test_over_the_cap_cancelling_the_cap_is_enough(first: Cycle) -> None:
    unit = facts(allowances_due_t=100_000, lines=(line(9_000),), cancellations=(cancelled(5_000),))
    found = marks(unit, first)["cancellation_deadline"]
    assert (found.mark, found.in_time_t) == ("met", 5_000)


def test_deadlines_that_do_not_concern_a_unit_are_not_marked_missed(first: Cycle) -> None:
    never = marks(facts(), first)
    assert never["window_closes"].mark == "not_applicable"  # using CCER is optional
    assert never["cancellation_deadline"].mark == "not_applicable"
    assert never["compliance_deadline"].mark == "missed"
    rejected = marks(facts(lines=(line(20_000, "rejected"),)), first)
    assert rejected["window_closes"].mark == "met"
    assert rejected["cancellation_deadline"].mark == "not_applicable"


def test_a_pending_application_at_the_cancellation_deadline_misses_it(first: Cycle) -> None:
    found = marks(facts(lines=(line(20_000, "pending"),)), first)["cancellation_deadline"]
    assert (found.mark, found.in_time_t) == ("missed", 0)
