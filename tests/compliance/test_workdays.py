from __future__ import annotations

from datetime import date

import pytest

from compliance.workdays import is_workday, workday_on_or_before


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2021, 12, 15), True),  # Wednesday
        (date(2022, 1, 15), False),  # Saturday
        (date(2021, 10, 1), False),  # National Day, a Friday
        (date(2021, 10, 9), True),  # Saturday made a working day for the National Day holiday
        (date(2022, 1, 3), False),  # New Year holiday, a Monday
    ],
)
def test_chinese_holidays_and_make_up_days(day: date, expected: bool) -> None:
    assert is_workday(day) is expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2041, 10, 1), True),  # a Tuesday: without data even National Day is an ordinary weekday
        (date(2041, 10, 5), False),  # Saturday
        (date(2041, 10, 6), False),  # Sunday
        (date(2041, 10, 7), True),  # Monday
    ],
)
def test_years_without_holiday_data_fall_back_to_monday_to_friday(day: date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_workday_on_or_before() -> None:
    assert workday_on_or_before(date(2022, 1, 15)) == date(2022, 1, 14)
    assert workday_on_or_before(date(2022, 1, 14)) == date(2022, 1, 14)
    # New Year 2022: Saturday 1 January to Monday 3 January are all rest days.
    assert workday_on_or_before(date(2022, 1, 3)) == date(2021, 12, 31)
    assert workday_on_or_before(date(2021, 10, 7)) == date(2021, 9, 30)
