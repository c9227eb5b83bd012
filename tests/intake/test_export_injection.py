"""A unit name from mail that looks like a formula stays text in the officer's /export workbook."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from bot.chat.export import province_workbook
from bot.reports import province_report
from compliance.creditcode import make_code
from tests.intake.world import CYCLE, LATER, SD, TZ, Unit, at, roster_rows, take
from tests.mail.corpus import build_message, csv_bytes

HOSTILE = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_every_exported_string_is_text(sqlite_engine: Engine, name: str) -> None:
    unit = Unit("山东省", name, make_code("91370100MA3C00011"), "371000000011", 1_000_000)
    # a CSV, so that the cell reaches the bot as the characters the sender typed
    attachment = ("名录.csv", csv_bytes(roster_rows([unit]), "utf-8"), "text/csv")
    raw = build_message(
        sender=SD,
        to="bot@example.cn",
        subject="山东省名录",
        date=at("2021-10-25T15:00"),
        attachments=[attachment],
    )
    assert take(sqlite_engine, raw).outcome == "applied"
    units = province_report(sqlite_engine, CYCLE, "山东省", LATER).units
    book = load_workbook(BytesIO(province_workbook(units, "zh", TZ, "山东省", LATER)))
    sheet = book.active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    [shown] = [cell for cell in cells if cell.value == name.strip()]
    assert shown.data_type == "s"
