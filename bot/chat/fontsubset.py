"""Makes the CJK font the charts ship with: the characters the chart can show, cut from a full font.

Charts use a full Chinese font when fontconfig knows one; on a machine without one (a fresh clone, the
demo) they use bot/chat/fonts/chart-cjk.ttf, which this makes from WenQuanYi Micro Hei (Debian's
fonts-wqy-microhei; Apache-2.0). Run again when a chart label gains a character (a test says so):

    python -m bot.chat.fontsubset /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
"""

from __future__ import annotations

import string
import sys
import tomllib
from importlib import resources
from typing import Any

from bot.chat.chart import SHIPPED

FAMILY = "ccerbot Chart CJK"
# what a chart may show besides its labels and the province names: dates, percentages, brackets
EXTRA = string.printable.strip() + "（）：，、。·—"


def chart_characters() -> str:
    """Every character a chart's texts can hold: the Chinese chart labels and every province form."""
    labels = tomllib.loads(resources.files("templates").joinpath("labels.toml").read_text(encoding="utf-8"))
    headers = tomllib.loads(resources.files("mail").joinpath("headers.toml").read_text(encoding="utf-8"))
    texts = [*labels["zh"]["chat_chart"].values()]
    texts += [form for name, forms in headers["provinces"].items() for form in (name, *forms)]
    return "".join(sorted(set("".join(texts) + EXTRA)))


def main(argv: list[str]) -> int:
    from fontTools import subset  # only needed here, and it comes with matplotlib

    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    options = subset.Options()
    options.font_number = 0
    options.name_IDs = ["*"]  # keep the copyright and licence records
    font = subset.load_font(argv[0], options)
    cutter = subset.Subsetter(options)
    cutter.populate(text=chart_characters())
    cutter.subset(font)
    _rename(font)
    subset.save_font(font, str(SHIPPED), options)
    print(f"{SHIPPED}: {len(chart_characters())} characters")
    return 0


def _rename(font: Any) -> None:
    """A family name of its own, so that matplotlib never confuses the cut font with an installed full one."""
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 6, 16, 17, 18, 21, 22):
            names.removeNames(nameID=record.nameID)
    for name_id, value in (
        (1, FAMILY),
        (2, "Regular"),
        (3, f"{FAMILY} subset"),
        (4, FAMILY),
        (6, "CcerbotChartCJK"),
    ):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
