"""Working days of mainland China (statutory holidays and make-up working days)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_workday(day: date) -> bool:
    """True on a working day; years chinese-calendar does not know fall back to Monday-Friday."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The State Council publishes each year's holidays only in the autumn before.
        return day.weekday() < 5


def workday_on_or_before(day: date) -> date:
    """The latest working day that is not after `day`."""
    while not is_workday(day):
        day -= timedelta(days=1)
    return day
