from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from compliance.cycle import Cycle, load_cycle
from compliance.status import ApplicationLine, Cancellation, unit_status
from tests.compliance.builders import at, cancelled, facts, line
from tests.compliance.samples import UNITS, Sample

FIRST = load_cycle("2019-2020")
AFTER_ALL = datetime.fromisoformat("2022-01-04T10:00:00+08:00")  # expected.json's next_step_after_all


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.code)
def test_sample_units_after_all_mail(unit: Sample) -> None:
    status = unit_status(unit.facts(unit.complied_final), FIRST, AFTER_ALL)
    assert status.offset_cap_t == unit.offset_cap_t
    assert status.application == unit.application
    assert status.requested_t == unit.requested_t
    assert status.confirmed_t == unit.confirmed_t
    assert status.cancelled_t == unit.cancelled_t
    assert status.complied is unit.complied_final
    assert status.anomalies == unit.anomalies
    assert status.next_step == unit.next_step_after_all


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.code)
def test_sample_units_on_the_cancellation_deadline_morning(unit: Sample) -> None:
    status = unit_status(unit.facts(unit.complied_1214), FIRST, at(2021, 12, 15))
    if unit.complied_1214:
        assert (status.next_step, status.next_deadline) == ("done", None)
    elif unit.application == "confirmed":
        assert (status.next_step, status.next_deadline) == ("cancel_ccer", FIRST.cancellation_deadline)
        assert status.to_cancel_t == unit.confirmed_t - unit.cancelled_t
    else:
        assert (status.next_step, status.next_deadline) == ("surrender_allowances", FIRST.compliance_deadline)


@pytest.mark.parametrize(
    ("results", "application"),
    [
        ((), "none"),
        (("pending",), "pending"),
        (("confirmed", "pending"), "pending"),
        (("rejected", "pending"), "pending"),
        (("confirmed",), "confirmed"),
        (("rejected", "confirmed"), "confirmed"),
        (("rejected",), "rejected"),
        (("rejected", "rejected"), "rejected"),
    ],
)
def test_application_state_from_the_lines(results: tuple[str, ...], application: str) -> None:
    lines = tuple(line(100, result) for result in results)  # type: ignore[arg-type]
    assert unit_status(facts(lines=lines), FIRST, at(2021, 11, 1)).application == application


def test_amounts_add_up_over_lines() -> None:
    lines = (
        line(100_000, "confirmed"),
        line(50_000, "confirmed", confirmed_t=30_000),
        line(20_000, "rejected"),
        line(7_000, "pending"),
    )
    unit = facts(10_000_000, lines=lines, cancellations=(cancelled(60_000), cancelled(10_000)))
    status = unit_status(unit, FIRST, at(2021, 12, 1))
    assert status.requested_t == 177_000
    assert status.confirmed_t == 130_000
    assert status.cancelled_t == 70_000
    assert status.to_cancel_t == 60_000


def test_to_cancel_is_never_negative() -> None:
    status = unit_status(facts(lines=(line(100),), cancellations=(cancelled(150),)), FIRST, at(2021, 12, 1))
    assert status.to_cancel_t == 0
    assert status.anomalies == ("cancelled_exceeds_confirmed",)


@pytest.mark.parametrize(
    ("lines", "anomalous"),
    [
        ((line(50_000, "pending"),), False),  # exactly the cap of 1,000,000 t
        ((line(50_001, "pending"),), True),
        ((line(30_000), line(20_001, "pending")), True),
        ((line(50_001, "rejected"),), True),  # rejected, yet still reported
        ((line(40_000, "confirmed", confirmed_t=50_001),), True),
        ((line(60_000, "confirmed", confirmed_t=50_000),), True),  # requested above the cap
    ],
)
def test_offset_over_cap(lines: tuple[ApplicationLine, ...], anomalous: bool) -> None:
    status = unit_status(facts(allowances_due_t=1_000_000, lines=lines), FIRST, at(2021, 12, 1))
    assert status.offset_cap_t == 50_000
    assert ("offset_over_cap" in status.anomalies) is anomalous


def test_unknown_allowances_give_no_cap_and_no_over_cap_alarm() -> None:
    status = unit_status(facts(allowances_due_t=None, lines=(line(999_999),)), FIRST, at(2021, 12, 1))
    assert status.offset_cap_t == 0
    assert status.anomalies == ()


@pytest.mark.parametrize(
    ("lines", "cancellations", "anomalous"),
    [
        ((), (cancelled(1),), True),  # cancelled without any application
        ((line(100, "pending"),), (cancelled(100),), True),  # nothing confirmed yet
        ((line(100, "rejected"),), (cancelled(100),), True),
        ((line(100),), (cancelled(60), cancelled(40)), False),
        ((line(100),), (cancelled(60), cancelled(41)), True),
        ((line(100, "confirmed", confirmed_t=80),), (cancelled(90),), True),
        ((), (), False),
    ],
)
def test_cancelled_exceeds_confirmed(
    lines: tuple[ApplicationLine, ...], cancellations: tuple[Cancellation, ...], anomalous: bool
) -> None:
    status = unit_status(facts(lines=lines, cancellations=cancellations), FIRST, at(2021, 12, 1))
    assert ("cancelled_exceeds_confirmed" in status.anomalies) is anomalous


@pytest.mark.parametrize(
    ("when", "anomalous"),
    [
        (at(2021, 12, 15, 16, 59), False),
        (at(2021, 12, 15, 17, 0), False),  # the deadline itself is in time
        (at(2021, 12, 15, 17, 1), True),
        (datetime.fromisoformat("2021-12-15T09:30:00+00:00"), True),  # 17:30 in Beijing
        (at(2021, 12, 20), True),
    ],
)
def test_cancellation_after_deadline(when: datetime, anomalous: bool) -> None:
    records = (cancelled(50, at(2021, 12, 1)), cancelled(50, when))
    status = unit_status(facts(lines=(line(100),), cancellations=records), FIRST, at(2021, 12, 31))
    assert ("cancellation_after_deadline" in status.anomalies) is anomalous


@pytest.mark.parametrize(
    ("the_line", "anomalous"),
    [
        (line(100, "confirmed", vintage_end=date(2017, 3, 1)), True),
        (line(100, "pending", vintage_end=date(2018, 1, 1)), True),
        (line(100, "rejected", vintage_end=date(2018, 1, 1)), True),  # reported whatever the result
        (line(100, "confirmed", vintage_end=date(2017, 2, 28)), False),
        (line(100, "confirmed", vintage_end=None), False),
    ],
)
def test_ineligible_ccer(the_line: ApplicationLine, anomalous: bool) -> None:
    status = unit_status(facts(lines=(the_line,)), FIRST, at(2021, 12, 1))
    assert ("ineligible_ccer" in status.anomalies) is anomalous


def test_excluded_project_is_ineligible() -> None:
    cycle = replace(FIRST, excluded_projects=frozenset({"158"}))
    status = unit_status(facts(lines=(line(100, project_no="0158"),)), cycle, at(2021, 12, 1))
    assert status.anomalies == ("ineligible_ccer",)


def test_anomalies_are_sorted() -> None:
    lines = (line(60_000, "confirmed", vintage_end=date(2018, 1, 1)),)
    records = (cancelled(70_000, at(2021, 12, 20)),)
    status = unit_status(facts(lines=lines, cancellations=records), FIRST, at(2021, 12, 31))
    assert status.anomalies == (
        "cancellation_after_deadline",
        "cancelled_exceeds_confirmed",
        "ineligible_ccer",
        "offset_over_cap",
    )


def _step(cycle: Cycle, when: datetime, **kwargs: object) -> tuple[str, datetime | None]:
    status = unit_status(facts(**kwargs), cycle, when)  # type: ignore[arg-type]
    return status.next_step, status.next_deadline


@pytest.mark.parametrize(
    ("kwargs", "when", "step", "deadline"),
    [
        ({"complied": True, "lines": (line(100, "pending"),)}, at(2021, 11, 1), "done", None),
        ({"complied": True}, at(2022, 1, 4), "done", None),
        ({"complied": None}, at(2021, 11, 1), "submit_application", FIRST.window_closes),
        ({}, at(2021, 12, 10, 16, 59), "submit_application", FIRST.window_closes),
        ({}, at(2021, 12, 10, 17), "surrender_allowances", FIRST.compliance_deadline),
        (
            {"lines": (line(100, "pending"),)},
            at(2021, 11, 1),
            "await_confirmation",
            FIRST.cancellation_deadline,
        ),
        # Nothing can be cancelled after 12-15 17:00: a pending application can no longer be used.
        (
            {"lines": (line(100, "pending"),)},
            at(2021, 12, 20),
            "surrender_allowances",
            FIRST.compliance_deadline,
        ),
        ({"lines": (line(100),)}, at(2021, 12, 15, 16, 59), "cancel_ccer", FIRST.cancellation_deadline),
        ({"lines": (line(100),)}, at(2021, 12, 15, 17), "surrender_allowances", FIRST.compliance_deadline),
        (
            {"lines": (line(100),), "cancellations": (cancelled(99),)},
            at(2021, 12, 20),
            "submit_compliance",
            FIRST.compliance_deadline,
        ),
        (
            {"lines": (line(100),), "cancellations": (cancelled(100),)},
            at(2021, 12, 1),
            "submit_compliance",
            FIRST.compliance_deadline,
        ),
        (
            {"lines": (line(100),), "cancellations": (cancelled(120),)},
            at(2021, 12, 1),
            "submit_compliance",
            FIRST.compliance_deadline,
        ),
        # Rejected while the window is open: correct it and submit again.
        (
            {"lines": (line(100, "rejected"),)},
            at(2021, 11, 1),
            "submit_application",
            FIRST.window_closes,
        ),
        (
            {"lines": (line(100, "rejected"), line(50))},
            at(2021, 12, 1),
            "cancel_ccer",
            FIRST.cancellation_deadline,
        ),
    ],
)
def test_next_step(kwargs: dict[str, object], when: datetime, step: str, deadline: datetime | None) -> None:
    assert _step(FIRST, when, **kwargs) == (step, deadline)


def test_complied_none_counts_as_not_complied() -> None:
    assert unit_status(facts(complied=None), FIRST, at(2021, 11, 1)).complied is False


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        unit_status(facts(), FIRST, datetime(2021, 12, 1, 9))
