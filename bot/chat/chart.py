"""A province's completion over time against the targets, as a PNG.

Drawn with matplotlib's object API on the Agg canvas (no GUI, safe off the main thread). Chinese needs a
CJK font: the first one fontconfig knows, else the one shipped in fonts/ (the characters of the chart's
labels and of every province name, see fontsubset.py), so every machine draws the same chart. A text with
a character the font lacks is left out rather than shown as empty boxes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from threading import Lock
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import Formatter

_DRAWING = Lock()
SHIPPED = Path(__file__).with_name("fonts") / "chart-cjk.ttf"
PREFERRED = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
)


@dataclass(frozen=True)
class Target:
    ratio: float  # 0..1
    at: datetime
    label: str


@dataclass(frozen=True)
class ChartTexts:
    title: str
    subtitle: str  # the province and the instant; left out when the fonts cannot draw it
    ylabel: str
    rate: str
    now: str  # the legend of the line at the last point; empty: no such line


@dataclass(frozen=True)
class ChartFont:
    family: str
    path: str
    characters: frozenset[int]


@lru_cache(maxsize=1)
def chart_font() -> ChartFont | None:
    """An installed font that draws Chinese, else the shipped one, registered with matplotlib."""
    return first_font([*_fontconfig_paths(), str(SHIPPED)])


def first_font(paths: Sequence[str]) -> ChartFont | None:
    for path in paths:
        try:
            font_manager.fontManager.addfont(path)
            family = font_manager.FontProperties(fname=path).get_name()
            characters = frozenset(FT2Font(path).get_charmap())
        except (OSError, RuntimeError, ValueError):
            continue
        if family:
            return ChartFont(family, path, characters)
    return None


def cjk_font() -> str | None:
    """The family name of the font that draws Chinese; None if there is none at all."""
    font = chart_font()
    return font.family if font else None


def _fontconfig_paths() -> list[str]:
    if shutil.which("fc-list") is None:
        return []
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "file", "family"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    entries = [line.split(":", 1) for line in listed.splitlines() if ":" in line]
    rank = {name: i for i, name in enumerate(PREFERRED)}

    def preference(entry: list[str]) -> int:
        families = [f.strip() for f in entry[1].split(",")] if len(entry) > 1 else []
        return min((rank.get(f, len(PREFERRED)) for f in families), default=len(PREFERRED))

    return [entry[0].strip() for entry in sorted(entries, key=preference)]


def drawable(text: str) -> bool:
    """Whether the fonts at hand draw every character of the text (DejaVu Sans draws ASCII)."""
    font = chart_font()
    return all(c.isascii() or (font is not None and ord(c) in font.characters) for c in text)


def completion_png(
    points: Sequence[tuple[datetime, float]],
    targets: Sequence[Target],
    start: datetime,
    end: datetime,
    texts: ChartTexts,
) -> bytes:
    """`points` are (instant, completion rate 0..1); the x axis runs from `start` to `end`."""
    return png(completion_figure(points, targets, start, end, texts))


def completion_figure(
    points: Sequence[tuple[datetime, float]],
    targets: Sequence[Target],
    start: datetime,
    end: datetime,
    texts: ChartTexts,
) -> Figure:
    """The chart, laid out: its tick labels are set and can be read."""
    # matplotlib's settings are global and it is not thread-safe: one chart at a time.
    with _DRAWING, rc_context(font_settings()):
        figure = Figure(figsize=(8, 4.5), dpi=110, layout="tight")
        _draw(figure.add_subplot(), points, targets, start, end, texts)
        FigureCanvasAgg(figure).draw()
    return figure


def png(figure: Figure) -> bytes:
    buffer = BytesIO()
    with _DRAWING, rc_context(font_settings()):
        FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def font_settings() -> Any:
    """matplotlib's font settings for a chart: the Chinese font first, DejaVu Sans for what it lacks."""
    family = cjk_font()
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
    }


class DayFormatter(Formatter):
    """Dates as month-day, with the year on the first tick and wherever the year changes."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{num2date(x, self.tz):%Y-%m-%d}"

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        days = [num2date(value, self.tz) for value in values]
        return [
            f"{day:%Y-%m-%d}" if i == 0 or day.year != days[i - 1].year else f"{day:%m-%d}"
            for i, day in enumerate(days)
        ]


def _draw(
    axes: Axes,
    points: Sequence[tuple[datetime, float]],
    targets: Sequence[Target],
    start: datetime,
    end: datetime,
    texts: ChartTexts,
) -> None:
    xs = [float(date2num(at)) for at, _ in points]
    ys = [rate * 100 for _, rate in points]
    axes.plot(xs, ys, marker="o", markersize=3, linewidth=2, color="#1f77b4", label=texts.rate)
    for target, colour in zip(targets, ("#d62728", "#2ca02c"), strict=False):
        axes.axhline(target.ratio * 100, color=colour, linestyle="--", linewidth=1, label=target.label)
        axes.axvline(float(date2num(target.at)), color=colour, linestyle=":", linewidth=1)
    if xs:
        axes.annotate(f"{ys[-1]:.1f}%", (xs[-1], ys[-1]), textcoords="offset points", xytext=(4, 6))
    if xs and texts.now:  # no "now" line when the chart shows a cycle that is over
        axes.axvline(xs[-1], color="#7f7f7f", linewidth=0.8, label=texts.now)
    axes.set_xlim(float(date2num(start)), float(date2num(end)))
    axes.set_ylim(0, 105)
    axes.set_ylabel(texts.ylabel)
    axes.xaxis.set_major_locator(AutoDateLocator(tz=start.tzinfo, maxticks=8))
    axes.xaxis.set_major_formatter(DayFormatter(start.tzinfo))
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    axes.set_title(
        texts.title + (f"\n{texts.subtitle}" if texts.subtitle and drawable(texts.subtitle) else "")
    )
