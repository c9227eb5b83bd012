"""Later cycles: one obligation per year, offset operations, which CCER count on which day."""

from __future__ import annotations

from datetime import date, datetime

from compliance.cycle import load_cycle
from compliance.status import OffsetOperation, YearFacts, unit_status
from tests.compliance.builders import at, facts

SECOND = load_cycle("2021-2022")
CURRENT = load_cycle("2025")
TODAY = at(2026, 12, 4)


def op(
    quantity_t: int,
    state: str = "held",
    year: str | None = None,
    kind: str | None = "new",
    known: datetime | None = None,
) -> OffsetOperation:
    return OffsetOperation(
        year,
        quantity_t,
        state,
        date(2026, 11, 2),
        known or at(2026, 11, 2),
        kind,
        "CCER-001",
        "某项目",  # type: ignore[arg-type]
    )


def two_years(**kwargs: object) -> object:
    years = (YearFacts("2021", 1_000_000, None, None), YearFacts("2022", 2_000_000, None, None))
    return facts(allowances_due_t=None, years=years, **kwargs)  # type: ignore[arg-type]


def test_each_year_has_its_own_cap_and_status() -> None:
    """237号 §2：每年度抵销比例不超过该年度应清缴配额量的 5%，两个年度分别计算。"""
    unit = two_years(operations=(op(60_000, year="2021"), op(30_000, year="2022")))
    s = unit_status(unit, SECOND, at(2023, 12, 1))  # type: ignore[arg-type]
    y2021, y2022 = s.years
    assert (y2021.obligation, y2021.offset_cap_t, y2021.usable_t, y2021.over_cap_t) == (
        "2021",
        50_000,
        50_000,
        10_000,
    )
    assert y2021.anomalies == ("offset_over_cap",)
    assert (y2022.obligation, y2022.offset_cap_t, y2022.usable_t, y2022.anomalies) == (
        "2022",
        100_000,
        30_000,
        (),
    )
    assert (s.offset_cap_t, s.held_t, s.to_surrender_t) == (150_000, 80_000, 2_920_000)
    assert s.next_step == "submit_compliance" and s.advice == "select_held_ccer"


def test_the_cycle_is_complied_only_when_every_year_is() -> None:
    years = (YearFacts("2021", 1_000_000, None, True), YearFacts("2022", 2_000_000, None, False))
    s = unit_status(facts(allowances_due_t=None, years=years), SECOND, at(2023, 12, 20))
    assert not s.complied
    assert [y.next_step for y in s.years] == ["done", "surrender_allowances"]
    assert s.next_step == "surrender_allowances"  # the first year that is not done leads


def test_no_operation_may_start_one_until_the_form_deadline() -> None:
    """237号附件：两份申请表于 2023 年 12 月 15 日前报送省级主管部门（当日结束）。"""
    unit = two_years()
    before = unit_status(unit, SECOND, at(2023, 12, 15, 20))  # type: ignore[arg-type]
    assert (before.next_step, before.next_deadline) == ("submit_application", SECOND.window_closes)
    after = unit_status(unit, SECOND, at(2023, 12, 16, 9))  # type: ignore[arg-type]
    assert (after.next_step, after.next_deadline) == ("surrender_allowances", SECOND.compliance_deadline)


def test_current_cycle_no_operation_until_the_end_of_2026() -> None:
    s = unit_status(facts(allowances_due_t=800_000), CURRENT, TODAY)
    assert (s.next_step, s.next_deadline) == ("submit_application", CURRENT.compliance_deadline)
    assert (s.obligation, s.offset_cap_t, s.to_surrender_t, s.years) == ("2025", 40_000, 800_000, ())


def test_an_operation_counts_once_in_its_latest_state() -> None:
    withdrawn = unit_status(facts(operations=(op(10_000, "withdrawn"),)), CURRENT, TODAY)
    assert (withdrawn.state, withdrawn.next_step) == ("no_operation", "submit_application")
    used = unit_status(facts(operations=(op(10_000, "used"),)), CURRENT, TODAY)
    assert (used.state, used.used_t, used.advice, used.to_surrender_t) == (
        "used",
        10_000,
        "used_surrender_rest",
        990_000,
    )


def test_a_roster_saying_complied_is_done() -> None:
    s = unit_status(facts(complied=True, operations=(op(10_000, "used"),)), CURRENT, TODAY)
    assert (s.next_step, s.complied) == ("done", True)


def test_old_ccer_stops_counting_after_2024() -> None:
    """生态环境部通告 2023-10-24：2017-03-14 前备案的 CCER 可用至 2024-12-31，2025-01-01 起不可用。"""
    y2023 = load_cycle("2023")
    used_in_time = op(10_000, "used", kind="old", known=at(2024, 12, 20))
    ok = unit_status(facts(operations=(used_in_time,)), y2023, at(2024, 12, 21))
    assert (ok.used_t, ok.anomalies) == (10_000, ())
    held = op(10_000, "held", kind="old", known=at(2024, 12, 20))
    late = unit_status(facts(operations=(held,)), y2023, at(2025, 1, 2))
    assert (late.held_t, late.state, late.anomalies) == (0, "no_operation", ("ineligible_ccer",))
    current = unit_status(facts(operations=(op(10_000, kind="old"),)), CURRENT, TODAY)
    assert current.anomalies == ("ineligible_ccer",) and current.next_step == "submit_application"


def test_unknown_ccer_kind_is_reported_not_guessed() -> None:
    s = unit_status(facts(operations=(op(10_000, kind=None),)), CURRENT, TODAY)
    assert (s.held_t, s.chase) == (10_000, ("ccer_kind_unknown",))


def test_overdue_after_the_end_of_the_day() -> None:
    s = unit_status(facts(), CURRENT, at(2027, 1, 1, 0, 1))
    assert s.overdue and s.next_step == "surrender_allowances"
