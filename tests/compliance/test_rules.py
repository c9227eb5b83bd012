from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.cycle import Cycle, load_cycle
from compliance.rules import ccer_ineligible, offset_cap
from tests.compliance.samples import UNITS

FIRST = load_cycle("2019-2020")
SECOND = load_cycle("2021-2022")
tonnes = st.integers(min_value=0, max_value=10**12)


@pytest.mark.parametrize(
    ("allowances", "cap"), [(unit.allowances_due_t, unit.offset_cap_t) for unit in UNITS]
)
def test_caps_of_the_sample_units(allowances: int, cap: int) -> None:
    assert offset_cap(allowances, FIRST) == cap


@pytest.mark.parametrize(
    ("allowances", "cap"), [(0, 0), (19, 0), (20, 1), (39, 1), (40, 2), (3683910, 184195)]
)
def test_the_cap_is_rounded_down_to_whole_tonnes(allowances: int, cap: int) -> None:
    assert offset_cap(allowances, FIRST) == cap


@given(tonnes)
def test_the_cap_is_the_floor_of_five_percent(allowances: int) -> None:
    cap = offset_cap(allowances, FIRST)
    assert cap * 20 <= allowances < (cap + 1) * 20
    assert Decimal(cap) <= Decimal(allowances) * Decimal("0.05")


@given(tonnes, tonnes)
def test_the_cap_never_falls_when_allowances_rise(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert offset_cap(low, FIRST) <= offset_cap(high, FIRST)


@given(st.dictionaries(st.integers(2021, 2022), tonnes, min_size=1))
def test_a_per_year_cap_adds_each_years_floor(by_year: dict[int, int]) -> None:
    total = offset_cap(by_year, SECOND)
    assert total == sum(amount // 20 for amount in by_year.values())
    assert total <= offset_cap(sum(by_year.values()), SECOND)
    assert total * 20 <= sum(by_year.values())


def test_per_year_rounding_costs_a_tonne_per_year() -> None:
    # 39 t in each year: 1 t per year, where 78 t together would allow 3 t.
    assert offset_cap({2021: 39, 2022: 39}, SECOND) == 2
    assert offset_cap({2021: 39, 2022: 39}, FIRST) == 3
    assert offset_cap(78, SECOND) == 3


def test_another_ratio_comes_from_the_cycle() -> None:
    ten_percent = replace(FIRST, cap_ratio=Decimal("0.1"))
    assert offset_cap(1234, ten_percent) == 123


@pytest.mark.parametrize("allowances", [-1, {2021: 100, 2022: -1}])
def test_negative_allowances_are_refused(allowances: int | dict[int, int]) -> None:
    for cycle in (FIRST, SECOND):
        with pytest.raises(ValueError):
            offset_cap(allowances, cycle)


@pytest.mark.parametrize(
    ("vintage_end", "ineligible"),
    [
        (date(2016, 10, 31), False),
        (date(2017, 2, 28), False),  # 甘肃某光伏电站项目 in the samples: the last day before the cut-off
        (date(2017, 3, 1), True),
        (date(2019, 12, 31), True),
        (None, False),
    ],
)
def test_vintage_cut_off(vintage_end: date | None, ineligible: bool) -> None:
    assert ccer_ineligible("0433", vintage_end, FIRST) is ineligible


def test_no_cut_off_in_the_second_cycle() -> None:
    assert not ccer_ineligible("0433", date(2020, 12, 31), SECOND)


@pytest.mark.parametrize(
    ("project_no", "ineligible"),
    [("0158", True), ("158", True), (" ０１５８ ", True), ("1580", False), (None, False)],
)
def test_excluded_projects_match_however_the_number_is_written(
    project_no: str | None, ineligible: bool
) -> None:
    cycle: Cycle = replace(FIRST, excluded_projects=frozenset({"158"}))
    assert ccer_ineligible(project_no, date(2016, 1, 1), cycle) is ineligible
