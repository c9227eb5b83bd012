from __future__ import annotations

from datetime import datetime
from io import BytesIO

from openpyxl import load_workbook

from bot.chat import chart
from bot.chat.documents import sample_instants
from compliance.cycle import Cycle
from tests.chat.conftest import Ask, officer, words
from tests.chat.data import NOW, SHANDONG, Cast


def test_export_is_a_workbook_of_the_provinces_units(chat: Ask, story: Cast) -> None:
    reply = chat(21, "/export", officer())
    assert reply.attachment is not None and reply.attachment.kind == "document"
    assert reply.attachment.filename == f"{SHANDONG}-20211209-0900.xlsx"
    assert "5 家重点排放单位" in words(reply)
    sheet = load_workbook(BytesIO(reply.attachment.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:6] == (
        "统一社会信用代码",
        "重点排放单位名称",
        "省份",
        "行业",
        "履约年度",
        "应清缴配额量（吨）",
    )
    assert len(header) == 20 and "联系人邮箱" in header and "尚需以配额清缴（吨）" in header
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert set(by_code) == {story.applied, story.pending, story.over_cap, story.complied, story.silent}
    applied = by_code[story.applied]
    assert applied["尚需注销量（吨）"] == 400 and applied["CCER 抵销申请"] == "已确认"
    assert applied["截止时间"] == datetime(2021, 12, 15, 17)
    assert applied["联系人邮箱"] == story.email
    assert "超过应清缴配额量的 5%" in str(by_code[story.over_cap]["异常"])
    assert by_code[story.complied]["是否完成履约"] == "是"


def test_export_in_english(chat: Ask, story: Cast) -> None:
    chat(21, "/lang en")
    reply = chat(21, "/export", officer())
    assert reply.attachment is not None
    header = next(load_workbook(BytesIO(reply.attachment.data)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert header[0] == "Credit code"


def test_chart_is_a_png_of_the_completion(chat: Ask, story: Cast) -> None:
    reply = chat(21, "/chart", officer())
    assert reply.attachment is not None and reply.attachment.kind == "photo"
    assert reply.attachment.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "当前 20.0%" in words(reply)


def test_the_chart_samples_each_day_up_to_now(cycle: Cycle) -> None:
    instants = sample_instants(cycle, NOW)
    assert instants[-1] == NOW and instants[0].date() == cycle.window_opens.date()
    assert len(instants) <= 46 and instants == sorted(instants)
    assert sample_instants(cycle, cycle.window_opens.replace(day=1)) == [cycle.window_opens.replace(day=1)]


def test_chinese_is_drawn_only_with_a_font_that_has_it() -> None:
    assert chart.drawable("Shandong 2021-12-09")
    assert chart.drawable("山东省") == (chart.cjk_font() is not None)
