"""Views that answer with a file: the province's units as xlsx, its completion over time as a PNG."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.chat.base import Query, say
from bot.chat.export import province_workbook
from bot.chat.officer import menu, no_data, province_or_none
from bot.chat.reply import Attachment, Reply
from bot.chat.scope import scoped
from bot.reports import unit_reports
from compliance.cycle import Cycle
from templates import label

# The chart module loads matplotlib (and numpy, Pillow): some 40 MB that a service whose officers never
# ask for a chart does not need, so it is imported with the first chart drawn.
if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bot.chat import chart as charts

MOST_POINTS = 45
DAY_ENDS = time(17, 0)  # the cycle's deadlines fall at 17:00: a day's figure is read then


@scoped("export")
def export(q: Query, province: str) -> Reply:
    report = province_or_none(q, province)
    if report is None:
        return no_data(q, province)
    data = province_workbook(report.units, q.lang, q.cycle.tz, province, q.now)
    caption = say("chat_export", q, province=province, p=report.progress)
    filename = f"{province}-{q.now:%Y%m%d-%H%M}.xlsx"
    return Reply(caption.text, menu(q, province), Attachment("document", data, filename))


def chart_end(cycle: Cycle) -> datetime:
    """Where a chart of the cycle ends: the day after the compliance deadline, whatever the clock says."""
    return cycle.compliance_deadline + timedelta(days=1)


def sample_instants(cycle: Cycle, now: datetime) -> list[datetime]:
    """Each day's close from the opening of the window up to now (or the cycle's end, when it is over),
    thinned to at most MOST_POINTS, then that instant."""
    until = min(now, chart_end(cycle))
    first = cycle.window_opens.astimezone(cycle.tz).date()
    last = until.astimezone(cycle.tz).date()
    days = [first + timedelta(days=n) for n in range(max((last - first).days + 1, 0))]
    step = max(1, -(-len(days) // MOST_POINTS))
    instants = [datetime.combine(d, DAY_ENDS, tzinfo=cycle.tz) for d in days[::step]]
    return [at for at in instants if at < until] + [until]


def completion_series(q: Query, province: str) -> list[tuple[datetime, float]]:
    series = []
    for at in sample_instants(q.cycle, q.now):
        units = unit_reports(q.engine, q.cycle, at, province)
        if units:
            series.append((at, sum(1 for u in units if u.status.complied) / len(units)))
    return series


def chart_texts(q: Query, province: str) -> tuple[charts.ChartTexts, list[charts.Target]]:
    from bot.chat import chart as charts

    # The shipped font draws every Chinese label; should it be missing, the picture speaks English.
    lang = q.lang if charts.cjk_font() is not None else "en"

    def text(key: str) -> str:
        return label("chat_chart", key, lang)

    ratio = float(q.cycle.target_ratio)
    targets = [charts.Target(1.0, q.cycle.compliance_deadline, f"100% {text('target')}")]
    if q.cycle.target_95_at is not None:
        targets.insert(0, charts.Target(ratio, q.cycle.target_95_at, f"{ratio:.0%} {text('target')}"))
    shown = min(q.now, chart_end(q.cycle))
    subtitle = f"{province} {shown.astimezone(q.cycle.tz):%Y-%m-%d %H:%M}"
    now = text("now") if q.now <= chart_end(q.cycle) else ""
    return charts.ChartTexts(text("title"), subtitle, text("ylabel"), text("rate"), now), targets


def chart_figure(q: Query, province: str) -> tuple[Figure, float] | None:
    """The province's chart over the cycle being shown, and the latest rate; None without data."""
    from bot.chat import chart as charts

    series = completion_series(q, province)
    if not series:
        return None
    texts, targets = chart_texts(q, province)
    start = min(q.cycle.window_opens, series[0][0])
    figure = charts.completion_figure(series, targets, start, chart_end(q.cycle), texts)
    return figure, series[-1][1]


@scoped("chart")
def chart(q: Query, province: str) -> Reply:
    from bot.chat import chart as charts

    drawn = chart_figure(q, province)
    if drawn is None:
        return no_data(q, province)
    figure, rate = drawn
    caption = say("chat_chart", q, province=province, rate=rate)
    return Reply(caption.text, menu(q, province), Attachment("photo", charts.png(figure), f"{province}.png"))
