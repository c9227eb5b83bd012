"""Which cycle a fact belongs to when its mail names no year: for every bundled cycle file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from compliance.cycle import Cycle, all_cycles, current_cycle
from storage.cycles import cycle_at, mail_end, resolve_obligation

CYCLES = all_cycles()


def _report_end(cycle: Cycle) -> datetime:
    return mail_end(cycle)


@pytest.mark.parametrize("cycle", CYCLES, ids=lambda c: c.name)
def test_a_cycle_keeps_its_mail_up_to_its_report_day(cycle: Cycle) -> None:
    assert cycle_at(cycle.compliance_deadline).name == cycle.name
    assert cycle_at(cycle.compliance_deadline + timedelta(days=1)).name == cycle.name
    assert cycle_at(_report_end(cycle) - timedelta(seconds=1)).name == cycle.name
    later = cycle_at(_report_end(cycle))
    assert later.name != cycle.name or cycle is CYCLES[-1]


def test_after_the_deadline_the_last_mail_is_not_the_next_cycle_s() -> None:
    first = CYCLES[0]
    late = first.compliance_deadline + timedelta(days=4)  # a roster saying who complied, in early January
    assert current_cycle(late).name != first.name
    assert cycle_at(late).name == first.name


@pytest.mark.parametrize("cycle", CYCLES, ids=lambda c: c.name)
def test_every_obligation_and_cycle_name_resolves(cycle: Cycle) -> None:
    for obligation in cycle.obligations:
        assert resolve_obligation(obligation) == (cycle, obligation)
    if cycle.name not in cycle.obligations:
        assert resolve_obligation(cycle.name) == (cycle, None)  # "2021-2022年度…": the cycle as a whole


def test_a_year_no_cycle_owes_resolves_to_nothing() -> None:
    assert resolve_obligation("1999") is None


def test_one_year_of_a_combined_obligation_is_that_obligation() -> None:
    combined = [c for c in CYCLES if len(c.obligations) == 1 and len(c.years) > 1]
    assert combined  # the first cycle: allowances of 2019 and 2020, one obligation
    for cycle in combined:
        for year in cycle.years:
            assert resolve_obligation(str(year)) == (cycle, cycle.obligations[0])
