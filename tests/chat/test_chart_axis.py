"""The chart's x axis follows the cycle being shown, whatever the clock says, with the year where needed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from matplotlib.dates import num2date
from sqlalchemy.engine import Engine

from bot.chat.base import Query
from bot.chat.documents import chart_figure
from compliance.cycle import Cycle
from storage.peer import as_peer
from tests.chat.conftest import officer
from tests.chat.data import NOW, SHANDONG, TZ, Cast

INSTANTS = {
    "replayed": NOW,
    "the real clock, years later": datetime(2026, 12, 4, 9, 30, tzinfo=TZ),
    "the day after the deadline": datetime(2022, 1, 3, 9, tzinfo=TZ),
}


@pytest.mark.parametrize("when", sorted(INSTANTS))
def test_the_axis_is_the_cycles(sqlite_engine: Engine, cycle: Cycle, story: Cast, when: str) -> None:
    now = INSTANTS[when]
    drawn = chart_figure(Query(sqlite_engine, cycle, as_peer(21), officer(), (), now, "zh"), SHANDONG)
    assert drawn is not None
    axes = drawn[0].axes[0]
    left, right = (num2date(x, TZ) for x in axes.get_xlim())
    assert left == cycle.window_opens and right == cycle.compliance_deadline + timedelta(days=1)
    line = axes.get_lines()[0]
    shown = [num2date(float(x), TZ) for x in line.get_xdata()]
    assert shown[-1] == min(now, right) and all(left <= at <= right for at in shown)

    ticks = [num2date(x, TZ) for x in axes.get_xticks() if axes.get_xlim()[0] <= x <= axes.get_xlim()[1]]
    labels = [t.get_text() for t in axes.get_xticklabels() if t.get_text()]
    assert len(ticks) >= 4 and len(labels) == len(ticks) and len(set(labels)) == len(labels)
    for i, (tick, text) in enumerate(zip(ticks, labels, strict=True)):
        needs_year = i == 0 or tick.year != ticks[i - 1].year
        assert text == (f"{tick:%Y-%m-%d}" if needs_year else f"{tick:%m-%d}")
    assert str(cycle.window_opens.year) in labels[0]
