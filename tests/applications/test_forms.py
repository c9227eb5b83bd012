"""An emitter's 申请表 is read from each layout it comes in; what cannot be read is kept as a problem."""

from __future__ import annotations

from datetime import date

import pytest

from mail.application_form import form_tables, read_form, read_forms
from mail.tables import Table
from tests.applications.forms import DOCX_TYPE, form_rows, word_bytes
from tests.intake.world import SD_UNITS

UNIT = SD_UNITS[0]


def test_a_sheet_laid_out_as_the_form() -> None:
    rows = form_rows(UNIT, 150_000, [("0158", "云南某水电站", "2014-01-01至2016-10-31", 100_000),
                                     ("CCER-2-1", "某风电", "2015-01-01至2016-12-31", 50_000)])  # fmt: skip
    [form] = read_forms([Table("Sheet1", rows)], "申请表")
    assert (form.name, form.code, form.account_no) == (UNIT.name, UNIT.code, UNIT.account)
    assert (form.allowances_due_t, form.requested_t) == (UNIT.due, 150_000)
    assert [(p.project_no, p.requested_t) for p in form.projects] == [("0158", 100_000), ("CCER-2-1", 50_000)]
    assert form.projects[0].vintage_end == date(2016, 10, 31)
    assert form.problems == ()


def test_a_word_table_reads_the_same() -> None:
    rows = form_rows(UNIT, 120_000)
    [table] = form_tables([("申请表.docx", DOCX_TYPE, word_bytes(rows))], "", 10**7)
    form = read_form(table)
    assert (form.code, form.requested_t, form.projects[0].project_no) == (UNIT.code, 120_000, "0158")
    assert form.problems == ()


@pytest.mark.parametrize(
    "stamp",
    [["单位盖章", None, "日期", "2021年11月1日"], ["（单位盖章）", None, None, None],
     [None, "申请单位（公章）：", None, "2021年11月1日"], ["填表日期：2021年11月1日", None, None, None]],
)  # fmt: skip
def test_a_stamp_row_right_below_the_projects_ends_their_table(stamp: list[object]) -> None:
    """The stamp, the date, with no contact row between them and the projects, is no project line."""
    rows = form_rows(UNIT, 100_000, [("0158", "云南某水电站", "2014-01-01至2016-10-31", 100_000)])
    rows = [*rows[:-2], stamp]  # the projects, then the stamp row at once
    [form] = read_forms([Table("Sheet1", rows)], "申请表")
    assert [(p.project_no, p.requested_t) for p in form.projects] == [("0158", 100_000)]
    assert form.problems == ()


def test_a_project_whose_name_holds_no_end_word_at_its_start_is_still_a_line() -> None:
    """Words that end the table are looked for in the row's first cell, never in a project's later
    cells: a project named with 说明 or 日期 inside, after its number, stays a line."""
    projects = [("0158", "云南某水电站", "2014-01-01至2016-10-31", 60_000),
                ("0159", "某项目（补充说明见附件）", "2015-01-01至2016-12-31", 40_000)]  # fmt: skip
    [form] = read_forms([Table("Sheet1", form_rows(UNIT, 100_000, projects))], "申请表")
    assert [p.project_no for p in form.projects] == ["0158", "0159"]
    assert form.problems == ()


def test_a_form_pasted_in_the_body() -> None:
    body = (
        f"单位名称：{UNIT.name}\n统一社会信用代码：{UNIT.code}\n申请抵销量：12万吨\n"
        "CCER项目编号：0158\n减排量产生时间：2014-01-01至2016-10-31\n"
    )
    [table] = form_tables([], body, 10**7)
    [form] = read_forms([table], "申请表")
    assert (form.code, form.requested_t) == (UNIT.code, 120_000)
    assert [(p.project_no, p.requested_t, p.vintage_end) for p in form.projects] == [
        ("0158", 120_000, date(2016, 10, 31))
    ]


def test_a_weekly_summary_is_no_form() -> None:
    from tests.intake.world import weekly_rows

    rows = weekly_rows([(UNIT, 100_000, "已确认")], "2021-11-05")
    assert read_forms([Table("Sheet1", rows)], "山东省CCER抵销配额清缴申请汇总表") == []


def test_what_cannot_be_read_is_kept_as_problems() -> None:
    rows = form_rows(UNIT, 150_000, [("0158", "云南某水电站", "2014-01-01至2016-10-31", 100_000)])
    rows[1][3] = UNIT.code[:-1] + ("0" if UNIT.code[-1] != "0" else "1")  # a wrong check character
    [form] = read_forms([Table("Sheet1", rows)], "申请表")
    assert any("统一社会信用代码" in p for p in form.problems)
    assert any("不一致" in p for p in form.problems)  # 150,000 stated, 100,000 in the projects
