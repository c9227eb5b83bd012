"""Every bundled cycle against the dates and rules of ../shared/CYCLES.md (and the notice for the first)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from compliance.cycle import all_cycles, current_cycle, cycle_for_obligation, load_cycle
from tests.compliance.builders import SHANGHAI, at

END = time(23, 59, 59)


def end_of(day: date) -> datetime:
    return datetime.combine(day, END, tzinfo=SHANGHAI)


def test_five_cycles_in_the_order_of_their_deadlines() -> None:
    assert [c.name for c in all_cycles()] == ["2019-2020", "2021-2022", "2023", "2024", "2025"]


@pytest.mark.parametrize(
    ("name", "deadline", "obligations", "sectors", "interim"),
    [
        ("2019-2020", at(2021, 12, 31, 17), ("2019-2020",), ("power",), at(2021, 12, 15, 17)),
        ("2021-2022", end_of(date(2023, 12, 31)), ("2021", "2022"), ("power",), end_of(date(2023, 11, 15))),
        ("2023", end_of(date(2024, 12, 31)), ("2023",), ("power",), None),
        ("2024", end_of(date(2025, 12, 31)), ("2024",), ("power", "steel", "cement", "aluminium"), None),
        ("2025", end_of(date(2026, 12, 31)), ("2025",), ("power", "steel", "cement", "aluminium"), None),
    ],
)
def test_deadlines_obligations_sectors_and_interim_targets(
    name: str, deadline: datetime, obligations: tuple[str, ...], sectors: tuple[str, ...], interim: object
) -> None:
    """CYCLES.md's table: a time only where the text gives one (17:00 in the first cycle), else the end of
    the day; a 95 % target only where stated."""
    cycle = load_cycle(name)
    assert cycle.compliance_deadline == deadline
    assert cycle.obligations == obligations
    assert cycle.sectors == sectors
    assert cycle.target_95_at == interim


def test_first_cycle_keeps_the_notices_procedure() -> None:
    first = load_cycle("2019-2020")
    assert first.procedure == "cancellation"
    assert first.mail_kinds == ("roster", "weekly_summary", "cancellation_list")
    assert first.cancellation_deadline == at(2021, 12, 15, 17)


@pytest.mark.parametrize("name", ["2021-2022", "2023", "2024", "2025"])
def test_later_cycles_offset_by_operations_capped_per_year(name: str) -> None:
    cycle = load_cycle(name)
    assert cycle.procedure == "operations"
    assert cycle.mail_kinds == ("roster", "offset_operations")
    assert cycle.cap_per_year and str(cycle.cap_ratio) == "0.05"
    # CCER held as 待抵销 can be used up to the final deadline.
    assert cycle.cancellation_deadline == cycle.compliance_deadline


def test_second_cycle_form_deadline_is_the_end_of_2023_12_15() -> None:
    assert load_cycle("2021-2022").window_closes == end_of(date(2023, 12, 15))


@pytest.mark.parametrize("name", ["2023", "2024", "2025"])
def test_ccer_kinds_by_day(name: str) -> None:
    """Old CCER (filed before 2017-03-14) only for surrenders up to 2024-12-31; new ones from 2024-01-22."""
    cycle = load_cycle(name)
    assert cycle.old_ccer_usable_until == date(2024, 12, 31)
    assert cycle.new_ccer_from == date(2024, 1, 22)


@pytest.mark.parametrize("name", ["2019-2020", "2021-2022", "2023", "2024", "2025"])
def test_every_cycle_names_its_source_and_penalty(name: str) -> None:
    cycle = load_cycle(name)
    assert cycle.source and cycle.penalty["zh"] and cycle.penalty["en"] and cycle.penalty["source"]


def test_penalty_regime_by_date() -> None:
    """办法 before 2024-05-01, 条例 after (CYCLES.md §0, §5)."""
    assert "管理办法" in load_cycle("2021-2022").penalty["zh"]
    assert "暂行条例" in load_cycle("2023").penalty["zh"]
    assert "生态环境法典" in load_cycle("2025").penalty["zh"]


@pytest.mark.parametrize("name", ["2023", "2024", "2025"])
def test_uncertain_values_are_marked(name: str) -> None:
    assert "dates.window_closes" in load_cycle(name).uncertain


@pytest.mark.parametrize(
    ("when", "name"),
    [
        (at(2021, 11, 1), "2019-2020"),
        (at(2021, 12, 31, 17), "2019-2020"),
        (at(2021, 12, 31, 17, 1), "2021-2022"),
        (at(2026, 12, 4), "2025"),
        (at(2027, 3, 1), "2025"),  # after the last bundled deadline: the last cycle
    ],
)
def test_the_current_cycle_is_the_one_whose_deadline_comes_next(when: datetime, name: str) -> None:
    assert current_cycle(when).name == name


def test_the_cycle_owing_an_obligation() -> None:
    assert cycle_for_obligation("2022").name == "2021-2022"  # type: ignore[union-attr]
    assert cycle_for_obligation("2019-2020").name == "2019-2020"  # type: ignore[union-attr]
    assert cycle_for_obligation("2030") is None
