"""Views that answer with a file: the province's units as xlsx, its completion over time as a PNG."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.reports import unit_reports
from bot.telegram import chart as charts
from bot.telegram.base import Query, say
from bot.telegram.export import province_workbook
from bot.telegram.officer import menu, no_data, province_or_none
from bot.telegram.reply import Attachment, Reply
from bot.telegram.scope import scoped
from compliance.cycle import Cycle
from templates import label

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


def sample_instants(cycle: Cycle, now: datetime) -> list[datetime]:
    """Each day's close from the opening of the window up to now, thinned to at most MOST_POINTS, then now."""
    first = cycle.window_opens.astimezone(cycle.tz).date()
    last = now.astimezone(cycle.tz).date()
    days = [first + timedelta(days=n) for n in range(max((last - first).days + 1, 0))]
    step = max(1, -(-len(days) // MOST_POINTS))
    instants = [datetime.combine(d, DAY_ENDS, tzinfo=cycle.tz) for d in days[::step]]
    return [at for at in instants if at < now] + [now]


def completion_series(q: Query, province: str) -> list[tuple[datetime, float]]:
    series = []
    for at in sample_instants(q.cycle, q.now):
        units = unit_reports(q.engine, q.cycle, at, province)
        if units:
            series.append((at, sum(1 for u in units if u.status.complied) / len(units)))
    return series


def chart_texts(q: Query, province: str) -> tuple[charts.ChartTexts, list[charts.Target]]:
    # Without a font that draws Chinese the picture speaks English; the caption keeps the chat's language.
    lang = q.lang if charts.cjk_font() is not None else "en"

    def text(key: str) -> str:
        return label("chat_chart", key, lang)

    ratio = float(q.cycle.target_ratio)
    targets = [charts.Target(1.0, q.cycle.compliance_deadline, f"100% {text('target')}")]
    if q.cycle.target_95_at is not None:
        targets.insert(0, charts.Target(ratio, q.cycle.target_95_at, f"{ratio:.0%} {text('target')}"))
    subtitle = f"{province} {q.now.astimezone(q.cycle.tz):%Y-%m-%d %H:%M}"
    return charts.ChartTexts(text("title"), subtitle, text("ylabel"), text("rate"), text("now")), targets


@scoped("chart")
def chart(q: Query, province: str) -> Reply:
    series = completion_series(q, province)
    if not series:
        return no_data(q, province)
    texts, targets = chart_texts(q, province)
    start = min(q.cycle.window_opens, series[0][0])
    end = max(q.cycle.compliance_deadline, series[-1][0]) + timedelta(days=1)
    png = charts.completion_png(series, targets, start, end, texts)
    caption = say("chat_chart", q, province=province, rate=series[-1][1])
    return Reply(caption.text, menu(q, province), Attachment("photo", png, f"{province}.png"))
