from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from compliance.creditcode import make_code
from mail.records import (
    ApplicationRecord,
    CancellationLine,
    MessageKind,
    ParsedTable,
    RosterRecord,
    RosterYear,
)
from mail.rows import parse_table
from mail.rows.header import locate_header
from mail.values import Cell

TZ = ZoneInfo("Asia/Shanghai")
A = make_code("9137132112TH3BJ19")
B = make_code("913703082HD1TJ3Y9")
C = make_code("91370218U49D4H3J4")
D = make_code("913703191K6FMHDQ7")


def wrong_check(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def parse(rows: list[list[Cell]], hint: MessageKind | None = None, **kw: date) -> ParsedTable:
    return parse_table(rows, kind_hint=hint, tz=TZ, **kw)


def rosters(table: ParsedTable) -> list[RosterRecord]:
    assert all(isinstance(r, RosterRecord) for r in table.records)
    return [r for r in table.records if isinstance(r, RosterRecord)]


def applications(table: ParsedTable) -> list[ApplicationRecord]:
    assert all(isinstance(r, ApplicationRecord) for r in table.records)
    return [r for r in table.records if isinstance(r, ApplicationRecord)]


def cancellations(table: ParsedTable) -> list[CancellationLine]:
    assert all(isinstance(r, CancellationLine) for r in table.records)
    return [r for r in table.records if isinstance(r, CancellationLine)]


ROSTER_HEADER: list[Cell] = [
    "序号", "省份", "重点排放单位名称", "统一社会信用代码", "全国碳排放权注册登记系统账户号",
    "2019-2020年度应清缴配额量（吨）", "已清缴配额量（吨）", "履约状态", "联系人邮箱",
]  # fmt: skip

WEEKLY_HEADER: list[Cell] = [
    "序号", "省份", "重点排放单位名称", "统一社会信用代码", "2019-2020年度应清缴配额量（吨）",
    "申请抵销量（吨）", "CCER项目编号", "CCER项目名称", "减排量产生时间", "确认结果", "确认日期", "备注",
]  # fmt: skip

CANCEL_HEADER: list[Cell] = [
    "序号", "注销日期", "账户名称", "统一社会信用代码", "项目编号", "项目名称",
    "序列号起", "序列号止", "注销数量（吨）", "注销原因",
]  # fmt: skip


# ---- rosters -----------------------------------------------------------------------------------


def roster_table() -> list[list[Cell]]:
    return [
        ["山东省2019-2020年度重点排放单位名录及履约进度（截至2021-12-14）", None, None],
        [],
        ROSTER_HEADER,
        [1, "山东", "\u3000济南瑞丰发电有限责任公司 ", " " + A[:6].lower() + " " + A[6:].lower() + " ",
         "371922121676", 3683910, 3683910, "已完成", "tan1@unit371.example"],
        [2, "山东省", "青岛恒信电力（集团）有限公司", B, 375070378921, "14,110,388", 0, "未完成", None],
        [3, None, "烟台华源发电有限责任公司", C, None, "１，２３４，５６７", None, None, None],
        ["合计", None, None, None, None, 19028865, None, None, None],
        ["注：履约状态以全国碳排放权注册登记系统为准。"],
    ]  # fmt: skip


def test_roster_records_and_title() -> None:
    table = parse(roster_table())
    assert table.kind == "roster"
    assert table.header_row == 3
    assert table.snapshot_date == date(2021, 12, 14)
    assert table.province_hint == "山东省"
    assert table.row_errors == []
    first, second, third = rosters(table)
    assert first == RosterRecord(
        row=4, province="山东省", name="济南瑞丰发电有限责任公司", code=A, account_no="371922121676",
        allowances_due_t=3683910, surrendered_t=3683910, complied=True, contact_email="tan1@unit371.example",
        years=(RosterYear("2019-2020", 3683910, None, None),),  # only the amount column names its year
    )  # fmt: skip
    assert (second.name, second.account_no, second.allowances_due_t, second.complied) == (
        "青岛恒信电力(集团)有限公司", "375070378921", 14110388, False,
    )  # fmt: skip
    assert (third.row, third.province, third.allowances_due_t, third.surrendered_t, third.complied) == (
        6, None, 1234567, None, None,
    )  # fmt: skip


def test_roster_with_only_the_required_columns() -> None:
    table = parse([["企业名称", "社会信用代码", "应清缴配额总量"], ["甲公司", A, 100], ["乙公司", None, 200]])
    assert table.kind == "roster"
    assert table.row_errors == []
    assert [(r.name, r.code, r.allowances_due_t, r.province, r.account_no) for r in rosters(table)] == [
        ("甲公司", A, 100, None, None),
        ("乙公司", None, 200, None, None),
    ]


def test_roster_row_errors_leave_the_rest() -> None:
    rows: list[list[Cell]] = [
        ROSTER_HEADER,
        [1, "山东省", "甲公司", wrong_check(A), None, 100, None, None, None],
        [2, "山东省", "乙公司", B[:-1], None, 100, None, None, None],
        [3, "山东省", "丙公司", C, None, None, None, None, None],
        [4, "山东省", "丁公司", D, None, -5, None, None, None],
        [5, "山东省", "戊公司", None, None, "一百万", None, None, None],
        [6, "山东省", "己公司", None, None, 100, None, "差不多", None],
        [7, "山东省", None, None, None, 100, None, None, None],
        [8, "山东省", "庚公司", "91370000ＯＯ00000000", None, 100, None, None, None],
        [9, "山东省", "辛公司", None, None, 300, None, "是", None],
    ]
    table = parse(rows)
    assert [r.name for r in rosters(table)] == ["辛公司"]
    reasons = {e.row: e.reason for e in table.row_errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert reasons[2] == f"第2行：统一社会信用代码 {wrong_check(A)} 校验位错误"
    assert reasons[3] == f"第3行：统一社会信用代码 {B[:-1]} 长度应为18位，实为17位"
    assert reasons[4] == "第4行：2019-2020年度应清缴配额量（吨）为空"
    assert reasons[5] == "第5行：2019-2020年度应清缴配额量（吨） -5 为负数"
    assert reasons[6] == "第6行：2019-2020年度应清缴配额量（吨） 一百万 不是数字"
    assert reasons[7] == "第7行：履约状态 差不多 不是可识别的状态"
    assert reasons[8] == "第8行：重点排放单位名称和统一社会信用代码均为空"
    assert "不允许的字符 O" in reasons[9]


def test_lower_case_code_with_spaces_in_any_kind() -> None:
    spaced = " ".join([A[:4].lower(), A[4:10].lower(), A[10:]])
    table = parse([["单位名称", "统一社会信用代码", "应清缴配额量"], ["甲", spaced, 1]])
    assert rosters(table)[0].code == A


def test_a_row_error_collects_every_problem_of_the_row() -> None:
    table = parse([ROSTER_HEADER, [1, "山东省", "甲", wrong_check(A), None, "x", None, "不知道", None]])
    (error,) = table.row_errors
    assert error.reason.startswith("第2行：")
    assert "校验位错误" in error.reason and "不是数字" in error.reason and "不是可识别的状态" in error.reason


# ---- weekly summaries --------------------------------------------------------------------------


def weekly_table() -> list[list[Cell]]:
    return [
        ["全国碳市场第一个履约周期重点排放单位使用CCER抵销配额清缴申请汇总表"],
        ["填报单位：广东省生态环境厅    截至日期：2021年11月19日"],
        WEEKLY_HEADER,
        [1, "广东省", "广州东方能源有限公司", A, "10,122,734", "470,700", "0012", "内蒙古某风电场项目",
         "2013-06-01至2016-12-31", "已确认", "2021-11-17", None],
        [2, "广东省", "珠海东方发电有限责任公司", B, "11,490,833", "137,800", "0012", "内蒙古某风电场项目",
         "2013-06-01至2016-12-31", "已确认", datetime(2021, 11, 7), None],
        [None, None, None, None, None, "137,900", "0158", "云南某水电站项目", "2014.1.1-2016.10.31",
         None, None, None],
        [None, None, None, None, None, 1000, "0433", "甘肃某光伏电站项目", None, "不予确认", "2021-11-10",
         None],
        [3, "广东", "汕头国电综合能源有限公司", C, 14187508, 347500, "1209", "四川某农村户用沼气项目",
         "2015-01-01至2016-12-31", "待确认", None, "补报"],
        [4, "广东省", "佛山恒信热电有限公司", D, 807827, 38300, "0158", "云南某水电站项目",
         "2014-01-01至2016-10-31", None, None, None],
        ["合计", None, None, None, None, 994500, None, None, None, None, None, None],
        ["注：申请抵销量不超过应清缴配额量的5%。"],
        ["1、确认结果为空的视为待确认。"],
    ]  # fmt: skip


def test_weekly_units_with_continuation_rows() -> None:
    table = parse(weekly_table())
    assert table.kind == "weekly_summary"
    assert (table.header_row, table.snapshot_date, table.province_hint) == (3, date(2021, 11, 19), "广东省")
    assert table.row_errors == []
    gz, zh, st, fs = applications(table)
    assert (gz.row, gz.name, gz.code, gz.allowances_due_t) == (4, "广州东方能源有限公司", A, 10122734)
    assert [(ln.requested_t, ln.result, ln.confirmed_on) for ln in gz.lines] == [
        (470700, "confirmed", date(2021, 11, 17))
    ]
    assert (gz.lines[0].vintage_start, gz.lines[0].vintage_end) == (date(2013, 6, 1), date(2016, 12, 31))
    assert [ln.row for ln in zh.lines] == [5, 6, 7]
    assert sum(ln.requested_t for ln in zh.lines) == 137800 + 137900 + 1000
    # a blank result is the unit's (merged cell); a written one is the row's own
    assert [(ln.result, ln.confirmed_on) for ln in zh.lines] == [
        ("confirmed", date(2021, 11, 7)),
        ("confirmed", date(2021, 11, 7)),
        ("rejected", date(2021, 11, 10)),
    ]
    assert (zh.lines[1].project_no, zh.lines[1].vintage_start) == ("0158", date(2014, 1, 1))
    assert (st.province, st.lines[0].result, st.lines[0].confirmed_on) == ("广东省", "pending", None)
    assert fs.lines[0].result == "pending"  # blank 确认结果 on a unit's own row
    assert all(ln.confirmed_t is None for a in (gz, zh, st, fs) for ln in a.lines)


def test_weekly_in_ten_thousand_tonnes() -> None:
    rows: list[list[Cell]] = [
        ["单位名称", "统一社会信用代码", "应清缴配额量（万吨）", "申请抵销量【万吨】", "确认抵销量[万吨]"],
        ["甲", A, "368.391", 18.05, "18.05"],
        ["乙", B, 1411.0388, "12.34565", None],
    ]
    found = locate_header(rows, kind_hint=None)
    assert found is not None
    assert found.ten_thousand == {"allowances_due_t", "requested_t", "confirmed_t"}
    first, second = applications(parse(rows))
    assert (first.allowances_due_t, first.lines[0].requested_t, first.lines[0].confirmed_t) == (
        3683910, 180500, 180500,
    )  # fmt: skip
    assert (second.allowances_due_t, second.lines[0].requested_t) == (14110388, 123457)


def test_weekly_full_width_and_separated_amounts() -> None:
    rows: list[list[Cell]] = [
        ["重点排放单位名称", "申请使用CCER抵销量"],
        ["甲", "１８０，５００"],
        ["乙", "180 500"],
        ["丙", 180500.0],
    ]
    assert [a.lines[0].requested_t for a in applications(parse(rows))] == [180500] * 3


def test_weekly_without_result_and_confirmed_columns() -> None:
    table = parse([["单位名称", "信用代码", "抵销量"], ["甲", A, 100]])
    (app,) = applications(table)
    assert (app.lines[0].result, app.lines[0].confirmed_t, app.lines[0].project_no) == ("pending", None, None)


def test_weekly_confirmed_amount_column() -> None:
    rows: list[list[Cell]] = [
        ["单位名称", "申请抵销量", "确认结果", "确认抵销量（吨）"],
        ["甲", 100, "通过", 90],
        ["乙", 100, "审核中", None],
    ]
    first, second = applications(parse(rows))
    assert (first.lines[0].result, first.lines[0].confirmed_t) == ("confirmed", 90)
    assert (second.lines[0].result, second.lines[0].confirmed_t) == ("pending", None)


def test_a_bad_row_rejects_its_whole_unit() -> None:
    rows = weekly_table()
    rows[5][5] = "-137,900"  # the first continuation row of the second unit
    table = parse(rows)
    assert [a.name for a in applications(table)] == [
        "广州东方能源有限公司",
        "汕头国电综合能源有限公司",
        "佛山恒信热电有限公司",
    ]
    reasons = {e.row: e.reason for e in table.row_errors}
    assert sorted(reasons) == [5, 6, 7]
    assert reasons[6] == "第6行：申请抵销量（吨） -137,900 为负数"
    assert "第5行" in reasons[5] and "一并未采用" in reasons[5]


def test_weekly_unknown_result_and_missing_amount() -> None:
    rows: list[list[Cell]] = [
        WEEKLY_HEADER,
        [1, "广东省", "甲", A, 1000, 50, "0012", "x", None, "有条件确认", None, None],
        [2, "广东省", "乙", B, 1000, None, "0012", "x", None, "已确认", None, None],
        [3, "广东省", "丙", C, 1000, 40, "0012", "x", None, "退回", "2021-11-11", None],
    ]
    table = parse(rows)
    assert [(a.name, a.lines[0].result) for a in applications(table)] == [("丙", "rejected")]
    assert [(e.row, e.reason) for e in table.row_errors] == [
        (2, "第2行：确认结果 有条件确认 不是可识别的状态"),
        (3, "第3行：申请抵销量（吨）为空"),
    ]


def test_a_continuation_row_with_no_unit_above() -> None:
    rows: list[list[Cell]] = [WEEKLY_HEADER, [None, None, None, None, None, 100, "0012"]]
    table = parse(rows)
    assert table.records == []
    assert [e.reason for e in table.row_errors] == ["第2行：重点排放单位名称和统一社会信用代码均为空"]


def test_weekly_without_any_application_yet() -> None:
    rows: list[list[Cell]] = [*weekly_table()[:3], ["合计"], ["注：申请抵销量不超过应清缴配额量的5%。"]]
    table = parse(rows)
    assert (table.kind, table.records, table.row_errors) == ("weekly_summary", [], [])


# ---- cancellation lists ------------------------------------------------------------------------


def test_cancellation_list() -> None:
    rows: list[list[Cell]] = [
        CANCEL_HEADER,
        [1, "2021-12-02 10:30", "济南瑞丰发电有限责任公司", A, "0158", "云南某水电站项目",
         "001070000000", "001070180499", 180500, "全国碳市场第一个履约周期配额清缴抵销"],
        [2, datetime(2021, 12, 2, 14, 5), "潍坊瑞丰热电有限公司 ", None, "0433", None,
         "001070972000", "001071244099", "272,100", None],
        [3, date(2021, 12, 2), "青岛恒信电力有限公司", None, None, None, None, None, 1, None],
    ]  # fmt: skip
    table = parse(rows)
    assert (table.kind, table.header_row, table.row_errors) == ("cancellation_list", 1, [])
    first, second, third = cancellations(table)
    assert first == CancellationLine(
        row=2, cancelled_at=datetime(2021, 12, 2, 10, 30, tzinfo=TZ), holder_name="济南瑞丰发电有限责任公司",
        code=A, account_no=None, project_no="0158", project_name="云南某水电站项目", project_type=None,
        serial_from="001070000000", serial_to="001070180499", quantity_t=180500,
        purpose="全国碳市场第一个履约周期配额清缴抵销",
    )  # fmt: skip
    assert (second.cancelled_at, second.holder_name, second.quantity_t) == (
        datetime(2021, 12, 2, 14, 5, tzinfo=TZ), "潍坊瑞丰热电有限公司", 272100,
    )  # fmt: skip
    assert (third.cancelled_at, third.serial_from, third.serial_to) == (
        datetime(2021, 12, 2, tzinfo=TZ), None, None,
    )  # fmt: skip


def test_the_kind_decides_what_account_columns_mean() -> None:
    rows: list[list[Cell]] = [
        ["注销时间", "重点排放单位名称", "一般持有账户号", "项目类型", "序列号段", "注销量"],
        ["2021-11-15 10:30", "甲公司", "001234", "风电", "001071803900-001072079599", 275700],
        ["2021-11-15 11:00", "乙公司", "005678", None, "001072079600 至 001072079699", 100],
        ["2021-11-15 11:30", "丙公司", None, None, "001072079700", 1],
    ]
    cancel = parse(rows)
    assert cancel.kind == "cancellation_list"
    first, second, third = cancellations(cancel)
    assert (first.holder_name, first.account_no, first.project_type) == ("甲公司", "001234", "风电")
    assert (first.serial_from, first.serial_to) == ("001071803900", "001072079599")
    assert (second.serial_from, second.serial_to) == ("001072079600", "001072079699")
    assert (third.serial_from, third.serial_to) == ("001072079700", "001072079700")
    roster = parse([["账户名称", "账户号", "应清缴配额量"], ["甲公司", "371922121676", 5]])
    (unit,) = rosters(roster)
    assert (unit.name, unit.account_no) == ("甲公司", "371922121676")


def test_cancellation_date_and_time_in_two_columns() -> None:
    rows: list[list[Cell]] = [
        ["注销日期", "注销时间", "持有人", "注销数量", "序列号起", "序列号止"],
        [datetime(2021, 11, 15), "10:30", "甲", 1, "1", "1"],
        ["2021/11/15", datetime(1899, 12, 30, 16, 45), "乙", 2, "2", "3"],
        [44515, 0.75, "丙", 3, "4", "6"],
        ["2021-11-15 09:00", None, "丁", 4, "7", "10"],
    ]
    times = [r.cancelled_at for r in cancellations(parse(rows))]
    assert times == [
        datetime(2021, 11, 15, 10, 30, tzinfo=TZ),
        datetime(2021, 11, 15, 16, 45, tzinfo=TZ),
        datetime(2021, 11, 15, 18, 0, tzinfo=TZ),
        datetime(2021, 11, 15, 9, 0, tzinfo=TZ),
    ]


def test_cancellation_without_a_date() -> None:
    rows: list[list[Cell]] = [
        ["注销日期", "账户名称", "注销数量（吨）"],
        [None, "甲", 100],
        ["昨天", "乙", 100],
        ["2021-11-15", "丙", None],
        ["2021-11-15", "丁", 100],
    ]
    table = parse(rows)
    assert [r.holder_name for r in cancellations(table)] == ["丁"]
    assert [e.reason for e in table.row_errors] == [
        "第2行：注销日期为空",
        "第3行：注销日期 昨天 不是有效日期",
        "第4行：注销数量（吨）为空",
    ]
    dated = parse(rows, default_date=date(2021, 11, 16))
    assert [(r.holder_name, r.cancelled_at) for r in cancellations(dated)] == [
        ("甲", datetime(2021, 11, 16, tzinfo=TZ)),
        ("丁", datetime(2021, 11, 15, tzinfo=TZ)),
    ]


def test_a_list_without_a_date_column_uses_the_default_date() -> None:
    rows: list[list[Cell]] = [["账户名称", "序列号段", "注销数量"], ["甲", "1-10", 10]]
    assert [e.reason for e in parse(rows).row_errors] == ["第2行：表中没有注销日期列"]
    (record,) = cancellations(parse(rows, default_date=date(2021, 11, 15)))
    assert record.cancelled_at == datetime(2021, 11, 15, tzinfo=TZ)


def test_cancellation_errors() -> None:
    rows: list[list[Cell]] = [
        CANCEL_HEADER,
        [1, "2021-12-02", None, None, "0158", None, "1", "2", 2, None],
        [2, "2021-12-02", "乙", wrong_check(B), "0158", None, "3", "4", 2, None],
        [3, "2021-12-02", "丙", None, "0158", None, "5", "6", -2, None],
        [4, "2021-12-02", "丁", B.lower(), "0158", None, "7", "8", "2万", None],
    ]
    table = parse(rows)
    (record,) = cancellations(table)
    assert (record.holder_name, record.code, record.quantity_t) == ("丁", B, 20000)
    assert [e.reason for e in table.row_errors] == [
        "第2行：账户名称和统一社会信用代码均为空",
        f"第3行：统一社会信用代码 {wrong_check(B)} 校验位错误",
        "第4行：注销数量（吨） -2 为负数",
    ]


def test_serial_columns_under_one_merged_header() -> None:
    rows: list[list[Cell]] = [
        ["注销日期", "账户名称", "序列号", None, "注销数量"],
        [None, None, "起", "止", "（万吨）"],
        ["2021-11-15", "甲", "001", "100", 0.01],
    ]
    table = parse(rows)
    (record,) = cancellations(table)
    assert (record.serial_from, record.serial_to, record.quantity_t) == ("001", "100", 100)
    assert table.row_errors == []


# ---- rows that are not records; the header; the kind ---------------------------------------------


def test_empty_total_note_and_repeated_header_rows_are_skipped() -> None:
    rows: list[list[Cell]] = [
        ["单位名称", "应清缴配额量", "备注"],
        [],
        [None, "", "\u3000"],
        ["甲", 100, None],
        [None, None, "本行无数据"],
        ["合　计", 100, None],
        ["单位名称", "应清缴配额量", "备注"],
        ["乙", 200, None],
        [None, "总计：300"],
        ["小计", 300],
        ["说明：数据来源于注册登记系统"],
        ["填表说明：请勿修改表头"],
        ["备注：无"],
        ["注：", None],
        ["1. 应清缴配额量以核定数为准"],
        ["2. 单位：吨"],
    ]
    table = parse(rows)
    assert [(r.row, r.name) for r in rosters(table)] == [(4, "甲"), (8, "乙")]
    assert table.row_errors == []


def test_pre_numbered_template_rows_are_empty() -> None:
    rows: list[list[Cell]] = [["序号", "单位名称", "应清缴配额量"], [1, "甲", 5], [2, None, None], [3]]
    table = parse(rows)
    assert (len(table.records), table.row_errors) == (1, [])


def test_title_rows_give_date_and_province() -> None:
    rows: list[list[Cell]] = [
        ["附件1"],
        ["湖北省重点排放单位名录"],
        ["截至日期：", datetime(2021, 10, 29), None],
        ["单位名称", "统一社会信用代码", "应清缴配额量"],
        ["甲", A, 1],
    ]
    table = parse(rows)
    assert (table.header_row, table.snapshot_date, table.province_hint) == (4, date(2021, 10, 29), "湖北省")


@pytest.mark.parametrize(
    ("title", "snapshot"),
    [
        ("（截至2021-12-14）", date(2021, 12, 14)),
        ("截止到2021年12月3日", date(2021, 12, 3)),
        ("截至日期：2021.11.5", date(2021, 11, 5)),
        ("2021年11月15日", None),
    ],
)
def test_snapshot_date_needs_the_word(title: str, snapshot: date | None) -> None:
    assert parse([[title], ["单位名称", "抵销量"], ["甲", 1]]).snapshot_date == snapshot


def test_header_variants_are_normalised() -> None:
    rows: list[list[Cell]] = [
        [
            "序 号",
            "企业统一社会信用代码",
            "重点排放单位名称（盖章）",
            "2021年度应清缴配额量 (tCO2)",
            "履约情况",
        ],
        ["1", A, "甲", 10, "否"],
    ]
    found = locate_header(rows, kind_hint=None)
    assert found is not None
    assert (found.index, found.body_start, found.kind) == (0, 1, "roster")
    # a roster's amount column that names its year is that obligation's column
    assert found.columns == {"seq": 0, "code": 1, "name": 2, "allowances_due_t@2021": 3, "complied": 4}
    assert found.ten_thousand == set()
    assert rosters(parse(rows))[0].complied is False


def test_no_header_is_an_unknown_table() -> None:
    table = parse([["山东省会议通知"], ["时间", "地点"], ["明天", "会议室"]])
    assert (table.kind, table.header_row, table.records, table.province_hint) == ("unknown", 0, [], "山东省")
    assert locate_header([["甲", "乙"]], kind_hint=None) is None
    assert locate_header([], kind_hint=None) is None


def test_columns_decide_the_kind_and_the_subject_breaks_ties() -> None:
    both: list[list[Cell]] = [["单位名称", "申请抵销量", "注销数量", "注销日期"], ["甲", 1, 1, "2021-11-15"]]
    assert parse(both).kind == "weekly_summary"
    assert parse(both, hint="cancellation_list").kind == "cancellation_list"
    assert parse(both, hint="roster").kind == "weekly_summary"
    roster_like: list[list[Cell]] = [["单位名称", "应清缴配额量"], ["甲", 1]]
    assert parse(roster_like, hint="weekly_summary").kind == "roster"
    unknown: list[list[Cell]] = [["单位名称", "统一社会信用代码", "邮箱"], ["甲", A, "a@b"]]
    assert parse(unknown, hint="roster").kind == "unknown"


def test_a_summary_read_again_a_week_later_gives_what_reading_it_anew_gives() -> None:
    """Rows whose cells were read before (last week's summary) are not read again: what they say, and
    the problems found in them, come back at their new places, under their new units."""
    from mail.rows.readings import Readings

    last_week = weekly_table()
    bad = [9, "广东省", "佛山某公司", wrong_check(D), "1,000", "50", None, None, None, "已确认", None, None]
    this_week = [*last_week[:3], bad, *last_week[3:]]  # a unit added on top: every row one lower
    Readings.forget()
    fresh = parse(this_week)
    Readings.forget()
    parse(last_week)
    parse([*last_week[:3], bad])
    known = len(Readings._known)
    again = parse(this_week)
    assert len(Readings._known) == known, "every row of this week's summary was read before"
    assert again == fresh
    assert [e.row for e in again.row_errors] == [4] and "校验位错误" in again.row_errors[0].reason
    assert [a.row for a in applications(again)][:2] == [5, 6]


def test_a_roster_read_again_gives_each_row_its_record_and_its_errors_at_its_new_place() -> None:
    from mail.rows.readings import Readings

    rows: list[list[Cell]] = [
        ROSTER_HEADER,
        [1, "山东省", "甲公司", wrong_check(A), None, 100, None, None, None],
        [2, "山东省", "乙公司", B, None, 200, 200, "已完成", None],
    ]
    added = [0, "山东省", "丙公司", C, None, 300, None, "未完成", None]
    next_roster = [rows[0], added, *rows[1:]]
    Readings.forget()
    fresh = parse(next_roster)
    Readings.forget()
    parse(rows)
    again = parse(next_roster)
    assert again == fresh
    assert [(r.row, r.name) for r in rosters(again)] == [(2, "丙公司"), (4, "乙公司")]
    assert [(e.row, e.reason) for e in again.row_errors] == [
        (3, f"第3行：统一社会信用代码 {wrong_check(A)} 校验位错误")
    ]


def test_rows_read_before_pass_the_same_checks_below_a_note_and_under_another_header() -> None:
    """A row kept as a record is one again without its checks only where they cannot decide otherwise:
    below a note (a lone cell there is the note's continuation, not a unit) and under a header whose
    columns read it differently."""
    from mail.rows.readings import Readings

    unit = [2, "山东省", "乙公司", B, None, 200, 200, "已完成", None]
    lone: list[Cell] = [None, None, "丁公司", None, None, None, None, None, None]
    rows: list[list[Cell]] = [ROSTER_HEADER, unit, lone]
    noted: list[list[Cell]] = [ROSTER_HEADER, [None, "注：以下为补充名单"], unit, lone]
    moved = [ROSTER_HEADER[1], ROSTER_HEADER[0], *ROSTER_HEADER[2:]]  # 序号 and 省份 swapped
    swapped: list[list[Cell]] = [moved, [unit[1], unit[0], *unit[2:]]]
    fresh = []
    for table in (noted, swapped):
        Readings.forget()
        fresh.append(parse(table))
    Readings.forget()
    parse(rows)
    assert [parse(noted), parse(swapped)] == fresh
    assert [r.name for r in rosters(fresh[0])] == ["乙公司"]


def test_a_cell_that_equals_one_read_before_but_is_another_kind_is_read_anew() -> None:
    """TRUE equals 1 and hashes alike: a sheet's boolean in an amount column is refused even where a
    number 1 in the same place was read before."""
    from mail.rows.readings import Readings

    def row(due: Cell) -> list[list[Cell]]:
        return [ROSTER_HEADER, [1, "山东省", "乙公司", B, None, due, None, "未完成", None]]

    Readings.forget()
    assert [r.allowances_due_t for r in rosters(parse(row(1)))] == [1]
    refused = parse(row(True))
    assert (refused.records, [e.row for e in refused.row_errors]) == ([], [2])
