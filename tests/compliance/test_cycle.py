from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from importlib import resources

import pytest

from compliance.cycle import Cycle, CycleError, cycle_names, load_cycle, parse_cycle
from compliance.kinds import ALL_KINDS
from tests.compliance.builders import SHANGHAI, at

FIRST_TEXT = (resources.files("compliance") / "cycles" / "2019-2020.toml").read_text(encoding="utf-8")


def mutate(old: str, new: str) -> str:
    assert old in FIRST_TEXT, old
    return FIRST_TEXT.replace(old, new, 1)


def test_both_cycles_ship() -> None:
    assert {"2019-2020", "2021-2022"} <= set(cycle_names())
    for name in cycle_names():
        assert load_cycle(name).name == name


def test_unknown_cycle_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"2019-2020.*2021-2022.*2025"):
        load_cycle("2026")
    with pytest.raises(ValueError):
        load_cycle("../cycles/2019-2020")


def test_first_cycle_calendar_is_the_notice(first: Cycle) -> None:
    assert first.title == "全国碳市场第一个履约周期"
    assert first.tz.key == "Asia/Shanghai"
    assert first.years == (2019, 2020)
    assert first.window_opens == datetime(2021, 10, 26, tzinfo=SHANGHAI)
    assert first.window_closes == at(2021, 12, 10, 17)
    assert first.cancellation_deadline == at(2021, 12, 15, 17)
    assert first.target_95_at == at(2021, 12, 15, 17)
    assert first.compliance_deadline == at(2021, 12, 31, 17)
    assert first.report_due == date(2022, 1, 15)
    assert first.report_remind_on == date(2022, 1, 14)  # 15 January 2022 is a Saturday


def test_first_cycle_rules_and_timing(first: Cycle) -> None:
    assert first.vintage_cutoff == date(2017, 3, 1)
    assert first.excluded_projects == frozenset()
    assert first.cap_ratio == Decimal("0.05")
    assert not first.cap_per_year
    assert first.target_ratio == Decimal("0.95")
    assert first.reminder_time == time(9, 0)
    assert first.weekly_summary_weekday == 4
    assert first.weekly_summary_time == time(17, 0)
    assert set(first.lead_days) == set(ALL_KINDS)


def test_first_cycle_calendar_view(first: Cycle) -> None:
    keys = [deadline.key for deadline in first.deadlines]
    assert keys == [
        "window_opens",
        "window_closes",
        "cancellation_deadline",
        "target_95",
        "compliance_deadline",
        "report_due",
        "correction_orders",
        "penalty_summary",
    ]
    when = {deadline.key: deadline for deadline in first.deadlines}
    assert when["target_95"].at == first.target_95_at
    assert when["report_due"].date_only and when["report_due"].at.date() == date(2022, 1, 15)
    assert when["correction_orders"].at.date() == date(2022, 2, 28)
    assert when["penalty_summary"].at.date() == date(2022, 4, 29)
    assert not when["compliance_deadline"].date_only
    for deadline in first.deadlines:
        assert deadline.label_zh.strip() and deadline.label_en.strip()
        assert deadline.at.tzinfo is not None


def test_second_cycle(second: Cycle) -> None:
    assert second.years == (2021, 2022)
    assert second.target_95_at.date() == date(2023, 11, 15)
    assert second.window_closes.date() == date(2023, 12, 15)
    assert second.compliance_deadline.date() == date(2023, 12, 31)
    assert second.cap_per_year
    assert second.cap_ratio == Decimal("0.05")
    assert second.old_ccer_usable_until == date(2024, 12, 31)
    assert second.vintage_cutoff is None
    # No date is stated for the report on non-compliers: none is invented, and it is marked uncertain.
    assert second.report_due is None and "dates.report_due" in second.uncertain
    assert [d.at for d in second.deadlines] == sorted(d.at for d in second.deadlines)
    assert "old_ccer_usable_until" in {d.key for d in second.deadlines}


def test_cycles_are_immutable_and_cached(first: Cycle) -> None:
    assert load_cycle("2019-2020") is first
    assert hash(first) == hash(parse_cycle(FIRST_TEXT))
    assert parse_cycle(FIRST_TEXT) == first
    with pytest.raises(TypeError):
        first.lead_days["cancel_ccer"] = (1,)  # type: ignore[index]


def test_lead_days_are_kept_most_distant_first() -> None:
    cycle = parse_cycle(mutate("cancel_ccer = [7, 3, 1]", "cancel_ccer = [1, 7, 0, 3]"))
    assert cycle.lead_days["cancel_ccer"] == (7, 3, 1, 0)


def test_an_instant_with_an_offset_is_converted_to_the_cycle_zone() -> None:
    cycle = parse_cycle(mutate("window_closes = 2021-12-10T17:00:00", "window_closes = 2021-12-10T09:00:00Z"))
    assert cycle.window_closes == at(2021, 12, 10, 17)
    assert cycle.window_closes.tzinfo == SHANGHAI


def test_report_reminder_day_may_be_given() -> None:
    cycle = parse_cycle(
        mutate("report_due = 2022-01-15", "report_due = 2022-01-15\nreport_remind_on = 2022-01-13")
    )
    assert cycle.report_remind_on == date(2022, 1, 13)


def test_excluded_projects_are_compared_without_leading_zeros() -> None:
    cycle = parse_cycle(mutate("excluded_projects = []", 'excluded_projects = ["0158", " ab-12 "]'))
    assert cycle.excluded_projects == frozenset({"158", "AB-12"})


def test_a_cycle_beyond_the_holiday_data_still_loads() -> None:
    text = FIRST_TEXT
    for old, new in [
        ("2021-", "2041-"),
        ("2022-", "2042-"),
        ("years = [2019, 2020]", "years = [2039, 2040]"),
    ]:
        text = text.replace(old, new)
    cycle = parse_cycle(text.replace("report_due = 2042-01-15", "report_due = 2042-01-18"))
    assert cycle.report_remind_on == date(2042, 1, 17)  # Saturday -> Friday, weekends only


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('name = "2019-2020"', "name = ", "TOML"),
        ('title = "全国碳市场第一个履约周期"\n', "", "title"),
        ('name = "2019-2020"', 'name = "2019-2020"\ncolour = "red"', "colour"),
        ('name = "2019-2020"', 'name = ""', "name"),
        ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Peking"', "timezone"),
        ("years = [2019, 2020]", "years = [2020, 2019]", "years"),
        ("years = [2019, 2020]", "years = []", "years"),
        ("years = [2019, 2020]", 'years = ["2019"]', "years"),
        ("window_closes = 2021-12-10T17:00:00", "window_closes = 2021-10-01T17:00:00", "dates.window_opens"),
        ("window_closes = 2021-12-10T17:00:00", "window_closes = 2021-12-16T17:00:00", "dates.window_closes"),
        (
            "cancellation_deadline = 2021-12-15T17:00:00",
            "cancellation_deadline = 2022-01-01T17:00:00",
            "cancellation_deadline",
        ),
        ("target_95_at = 2021-12-15T17:00:00", "target_95_at = 2022-01-02T17:00:00", "dates.target_95_at"),
        ("window_closes = 2021-12-10T17:00:00", "window_closes = 2022-01-10", "dates.window_closes"),
        ("window_closes = 2021-12-10T17:00:00", 'window_closes = "2021-12-10 17:00"', "dates.window_closes"),
        ("compliance_deadline = 2021-12-31T17:00:00\n", "", "dates.compliance_deadline"),
        ("report_due = 2022-01-15", "report_due = 2022-01-15T00:00:00", "dates.report_due"),
        ("report_due = 2022-01-15", "report_due = 2021-12-30", "dates.report_due"),
        (
            "report_due = 2022-01-15",
            "report_due = 2022-01-15\nreport_remind_on = 2022-01-16",
            "report_remind_on",
        ),
        ("report_due = 2022-01-15", "report_due = 2022-01-15\nreport_on = 2022-01-14", "dates.report_on"),
        ('cap_ratio = "0.05"', 'cap_ratio = "0"', "offsets.cap_ratio"),
        ('cap_ratio = "0.05"', 'cap_ratio = "1.5"', "offsets.cap_ratio"),
        ('cap_ratio = "0.05"', 'cap_ratio = "五"', "offsets.cap_ratio"),
        ('cap_ratio = "0.05"', "cap_ratio = true", "offsets.cap_ratio"),
        ("cap_per_year = false", 'cap_per_year = "no"', "offsets.cap_per_year"),
        ("vintage_cutoff = 2017-03-01", 'vintage_cutoff = "2017-03"', "offsets.vintage_cutoff"),
        ("excluded_projects = []", 'excluded_projects = "0158"', "offsets.excluded_projects"),
        ("excluded_projects = []", 'excluded_projects = [""]', "offsets.excluded_projects"),
        ('ratio = "0.95"', 'ratio = "95"', "targets.ratio"),
        ('ratio = "0.95"\n', "", "targets.ratio"),
        ("time = 09:00:00", 'time = "09:00"', "reminders.time"),
        ("weekly_summary_weekday = 4", "weekly_summary_weekday = 7", "reminders.weekly_summary_weekday"),
        ("weekly_summary_weekday = 4", "weekly_summary_weekday = 4.0", "reminders.weekly_summary_weekday"),
        ("cancel_ccer = [7, 3, 1]", "cancel_ccer = [7, -3, 1]", "reminders.lead_days.cancel_ccer"),
        ("cancel_ccer = [7, 3, 1]", "cancel_ccer = [7, 3, 3]", "reminders.lead_days.cancel_ccer"),
        ("cancel_ccer = [7, 3, 1]", "cancel_ccer = 7", "reminders.lead_days.cancel_ccer"),
        ("target_95 = [7, 3, 1]\n", "", "reminders.lead_days.target_95"),
        (
            "target_95 = [7, 3, 1]",
            "target_95 = [7, 3, 1]\nremind_everyone = [1]",
            "reminders.lead_days.remind_everyone",
        ),
        ('en = "95 % of units complied"\n', "", "labels.target_95.en"),
        (
            "[labels.target_95]",
            "[labels.no_such_step]\nzh = 'x'\nen = 'y'\n[labels.target_95]",
            "labels.no_such_step",
        ),
        ("[labels.target_95]", "[labels.target_95x]", "labels.target_95"),
        ('key = "correction_orders"', 'key = "report_due"', "follow_ups[0].key"),
        ("on = 2022-02-28", "on = 2022-02-28T09:00:00", "follow_ups[0].on"),
        ('key = "penalty_summary"\n', "", "follow_ups[1].key"),
    ],
)
def test_a_faulty_cycle_file_names_the_key_at_fault(old: str, new: str, where: str) -> None:
    with pytest.raises(CycleError, match=re.escape(where)):
        parse_cycle(mutate(old, new))


def test_cycle_errors_are_value_errors() -> None:
    assert issubclass(CycleError, ValueError)


def test_a_deadline_given_as_a_day_ends_with_that_day() -> None:
    """Later cycles' texts give days without a time: the deadline is the end of that day."""
    text = FIRST_TEXT.replace("compliance_deadline = 2021-12-31T17:00:00", "compliance_deadline = 2021-12-31")
    cycle = parse_cycle(text)
    assert cycle.compliance_deadline == datetime(2021, 12, 31, 23, 59, 59, tzinfo=cycle.tz)
