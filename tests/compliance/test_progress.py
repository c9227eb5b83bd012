from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.cycle import load_cycle
from compliance.progress import province_progress
from compliance.status import UnitStatus, unit_status
from tests.compliance.builders import at, facts
from tests.compliance.samples import GD, SD, UNITS

FIRST = load_cycle("2019-2020")
DONE = unit_status(facts(complied=True), FIRST, at(2021, 12, 1))
OPEN = unit_status(facts(complied=False), FIRST, at(2021, 12, 1))


def _units(complied: int, total: int) -> list[tuple[str, UnitStatus]]:
    return [(f"U{index:04d}", DONE if index < complied else OPEN) for index in range(total)]


@pytest.mark.parametrize("province", [SD, GD])
def test_sample_provinces_on_the_cancellation_deadline_morning(province: str) -> None:
    when = at(2021, 12, 15)
    units = [
        (u.code, unit_status(u.facts(u.complied_1214), FIRST, when)) for u in UNITS if u.province == province
    ]
    progress = province_progress(province, units, FIRST, when)
    assert (progress.units_total, progress.units_complied, progress.completion_rate) == (8, 4, 0.5)
    assert progress.outstanding == tuple(
        sorted(u.code for u in UNITS if u.province == province and not u.complied_1214)
    )
    assert progress.units_needed_for_95 == 4  # 95 % of 8 is 7.6: 8 units
    assert not progress.target_95_met and not progress.target_100_met
    assert not progress.target_95_missed  # 09:00, the target falls due at 17:00


@pytest.mark.parametrize("province", [SD, GD])
def test_sample_provinces_after_all_mail(province: str) -> None:
    when = at(2022, 1, 4, 10)
    units = [
        (u.code, unit_status(u.facts(u.complied_final), FIRST, when)) for u in UNITS if u.province == province
    ]
    progress = province_progress(province, units, FIRST, when)
    assert (progress.units_total, progress.units_complied, progress.completion_rate) == (8, 5, 0.625)
    assert progress.units_needed_for_95 == 3
    assert progress.target_95_missed and progress.target_100_missed


@pytest.mark.parametrize(
    ("complied", "total", "rate", "needed", "met_95", "met_100"),
    [
        (19, 20, 0.95, 0, True, False),
        (18, 20, 0.9, 1, False, False),
        (20, 20, 1.0, 0, True, True),
        (1, 3, 0.3333, 2, False, False),
        (2, 3, 0.6667, 1, False, False),
        (0, 1, 0.0, 1, False, False),
        (0, 0, 0.0, 0, True, True),
        (2162, 2162, 1.0, 0, True, True),
        (2053, 2162, 0.9496, 1, False, False),  # 95 % of the first cycle's 2,162 units is 2,053.9
    ],
)
def test_rates_and_targets(
    complied: int, total: int, rate: float, needed: int, met_95: bool, met_100: bool
) -> None:
    progress = province_progress("山东省", _units(complied, total), FIRST, at(2021, 12, 1))
    assert progress.completion_rate == rate
    assert progress.units_needed_for_95 == needed
    assert (progress.target_95_met, progress.target_100_met) == (met_95, met_100)
    assert len(progress.outstanding) == total - complied
    assert list(progress.outstanding) == sorted(progress.outstanding)


def test_missed_targets_need_the_instant_to_have_passed() -> None:
    units = _units(1, 2)
    assert not province_progress("x", units, FIRST, at(2021, 12, 15, 16, 59)).target_95_missed
    assert province_progress("x", units, FIRST, at(2021, 12, 15, 17)).target_95_missed
    assert not province_progress("x", units, FIRST, at(2021, 12, 31, 16, 59)).target_100_missed
    assert province_progress("x", units, FIRST, at(2021, 12, 31, 17)).target_100_missed
    assert not province_progress("x", _units(2, 2), FIRST, at(2022, 1, 4)).target_100_missed


@given(st.integers(0, 6000).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total))))
def test_units_needed_is_the_least_that_reaches_95_percent(counts: tuple[int, int]) -> None:
    complied, total = counts
    progress = province_progress("x", _units(complied, total), FIRST, at(2021, 12, 1))
    needed = progress.units_needed_for_95
    assert (complied + needed) * 100 >= 95 * total
    assert needed == 0 or (complied + needed - 1) * 100 < 95 * total
    assert progress.target_95_met is (needed == 0)
    assert 0.0 <= progress.completion_rate <= 1.0
