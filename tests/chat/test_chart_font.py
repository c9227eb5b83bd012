"""A machine without a Chinese font draws the same chart: the shipped font has every character it shows."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from matplotlib.ft2font import FT2Font

from bot.chat import chart
from bot.chat.fontsubset import chart_characters

ROOT = Path(__file__).resolve().parents[2]

# Run where fontconfig cannot be asked (no fc-list on PATH), as on a machine without fonts installed.
WITHOUT_FONTCONFIG = """
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from matplotlib import font_manager, rc_context
from bot.chat import chart

tz = ZoneInfo("Asia/Shanghai")
start = datetime(2021, 10, 26, tzinfo=tz)
points = [(start + timedelta(days=d), d / 60) for d in range(0, 50, 7)]
texts = chart.ChartTexts(
    "重点排放单位履约完成率", "内蒙古自治区 2021-12-09 09:00", "已完成履约的单位（%）", "完成率", "当前"
)
targets = [chart.Target(0.95, start + timedelta(days=50), "95% 目标")]
figure = chart.completion_figure(points, targets, start, start + timedelta(days=67), texts)
title = figure.axes[0].title
with rc_context(chart.font_settings()):
    drawn_with = font_manager.findfont(title.get_fontproperties(), fallback_to_default=False)
print(json.dumps({
    "font": chart.chart_font().path,
    "title": title.get_text(),
    "drawn_with": drawn_with,
}))
"""


def test_without_fontconfig_the_shipped_font_draws_the_chinese(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_FONTCONFIG],
        cwd=ROOT,
        env={"PATH": str(tmp_path), "MPLCONFIGDIR": str(tmp_path / "mpl"), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(got["font"]) == chart.SHIPPED
    assert got["title"] == "重点排放单位履约完成率\n内蒙古自治区 2021-12-09 09:00"
    assert Path(got["drawn_with"]) == chart.SHIPPED


def test_the_shipped_font_has_every_character_a_chart_shows() -> None:
    """Fails when a chart label or a province name gains a character: `python -m bot.chat.fontsubset`."""
    has = set(FT2Font(str(chart.SHIPPED)).get_charmap())
    assert "".join(c for c in chart_characters() if ord(c) not in has) == ""


def test_the_shipped_font_registers_and_draws_province_names() -> None:
    font = chart.first_font([str(chart.SHIPPED)])
    assert font is not None and font.family
    assert all(ord(c) in font.characters for c in "新疆生产建设兵团广西壮族自治区")


def test_a_text_with_a_character_no_font_has_is_left_out() -> None:
    assert chart.drawable("山东省 2021-12-09")
    missing = next(chr(c) for c in range(0x4E00, 0x9FFF) if c not in chart.chart_font().characters)  # type: ignore[union-attr]
    assert not chart.drawable(f"山东省{missing}")
    start = datetime(2021, 10, 26)
    texts = chart.ChartTexts("T", f"山东省{missing}", "y", "r", "n")
    figure = chart.completion_figure([(start, 0.1)], [], start, start + timedelta(days=9), texts)
    assert figure.axes[0].title.get_text() == "T"
