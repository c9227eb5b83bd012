"""Later cycles' tables: per-year roster columns, the sector column, offset-operation lists, their kind."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from compliance.creditcode import make_code
from mail.classify import kind_from_subject
from mail.records import OperationRecord, RosterRecord, RosterYear
from mail.rows import parse_table
from mail.trust import Senders, judge
from mail.values import Cell
from mail.vocab import vocab

TZ = ZoneInfo("Asia/Shanghai")
A = make_code("91370100MA3C00001")
B = make_code("91370200MA3C00002")
REGISTRY = "lvyue@registry.example"


def parse(rows: list[list[Cell]], hint: str | None = None):  # type: ignore[no-untyped-def]
    return parse_table(rows, kind_hint=hint, tz=TZ, default_date=date(2023, 9, 30))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "field", "year"),
    [
        ("2021年度应清缴配额量（吨）", "allowances_due_t", "2021"),
        ("2022年度应清缴配额量(万吨)", "allowances_due_t", "2022"),
        ("2021年度已清缴配额量", "surrendered_t", "2021"),
        ("2022年度履约状态", "complied", "2022"),
        ("2019-2020年度应清缴配额量（吨）", "allowances_due_t", "2019-2020"),
        ("2019－2020年应清缴配额总量", "allowances_due_t", "2019-2020"),
        ("应清缴配额量", "allowances_due_t", None),
        ("所属行业", "sector", None),
        ("2021年度联系人邮箱", "contact_email", None),  # only amounts and statuses are read per year
    ],
)
def test_a_roster_header_names_its_obligation(header: str, field: str, year: str | None) -> None:
    match = vocab().match_header(header, "roster")
    assert match is not None
    assert (match.field, match.year) == (field, year)


def test_a_per_year_roster_row_gives_each_year_and_the_whole() -> None:
    rows: list[list[Cell]] = [
        ["2021、2022年度重点排放单位名录"],
        ["单位名称", "统一社会信用代码", "行业类别", "2021年度应清缴配额量（万吨）",
         "2022年度应清缴配额量（吨）", "2021年度已清缴配额量", "2021年度履约状态", "2022年度履约状态"],
        ["甲", A, "电解铝", "1.5", 20_000, 15_000, "已完成", "未完成"],
        ["乙", B, "水泥", 100, None, None, "是", None],
    ]  # fmt: skip
    table = parse(rows)
    assert (table.kind, table.row_errors, table.header_obligations) == ("roster", [], ("2021", "2022"))
    first, second = table.records
    assert first == RosterRecord(
        row=3, province=None, name="甲", code=A, account_no=None, allowances_due_t=35_000,
        surrendered_t=15_000, complied=False, contact_email=None, sector="aluminium",
        years=(RosterYear("2021", 15_000, 15_000, True), RosterYear("2022", 20_000, None, False)),
    )  # fmt: skip
    assert isinstance(second, RosterRecord)
    # the 2022 status is blank: the row's is unknown
    assert (second.sector, second.allowances_due_t, second.complied) == ("cement", 1_000_000, None)
    assert second.years == (RosterYear("2021", 1_000_000, None, True),)


@pytest.mark.parametrize(
    ("word", "sector"), [("发电", "power"), ("电力", "power"), ("钢铁", "steel"), ("水泥", "cement"),
                         ("铝冶炼", "aluminium"), ("电解铝", "aluminium"), (None, None)],
)  # fmt: skip
def test_sector_words(word: str | None, sector: str | None) -> None:
    table = parse([["单位名称", "统一社会信用代码", "行业", "应清缴配额量"], ["甲", A, word, 10]])
    (record,) = table.records
    assert isinstance(record, RosterRecord) and record.sector == sector


def test_an_unknown_sector_or_a_blank_year_is_a_row_error() -> None:
    rows: list[list[Cell]] = [
        ["单位名称", "统一社会信用代码", "所属行业", "2021年度应清缴配额量", "2022年度应清缴配额量"],
        ["甲", A, "石化", 1, 2],
        ["乙", B, "发电", None, None],
    ]
    table = parse(rows)
    assert table.records == []
    assert [e.reason for e in table.row_errors] == [
        "第2行：所属行业 石化 不是可识别的行业",
        "第3行：2021年度应清缴配额量、2022年度应清缴配额量均为空",
    ]


OPS_HEADER: list[Cell] = [
    "序号", "操作编号", "申请日期", "企业名称", "统一社会信用代码", "项目编号", "项目名称", "项目类型",
    "抵销年度", "抵销量（万吨）", "状态", "减排量类型",
]  # fmt: skip


def test_an_operations_list_is_read() -> None:
    rows: list[list[Cell]] = [
        ["全国履约抵销操作记录（截至2023年9月30日）"],
        OPS_HEADER,
        [1, "YW-001", "2023-09-10", "甲", A, "CCER-1-01", "风电", "风电", 2021, "0.3", "待抵销", "存量"],
        [2, None, None, "乙", None, None, None, None, "2019-2020年度", 1, "已撤销", None],
        [3, "YW-003", "2023-09-11", "乙", B, None, None, None, "2022", 1, "已抵销", "新"],
        ["合计", None, None, None, None, None, None, None, None, "2.3", None, None],
    ]
    table = parse(rows)
    assert (table.kind, table.row_errors) == ("offset_operations", [])
    first, second, third = table.records
    assert first == OperationRecord(
        row=3, operated_on=date(2023, 9, 10), name="甲", code=A, project_no="CCER-1-01", project_name="风电",
        project_type="风电", obligation="2021", quantity_t=3_000, state="held", operation_no="YW-001",
        ccer_kind="old",
    )  # fmt: skip
    assert isinstance(second, OperationRecord) and isinstance(third, OperationRecord)
    assert (second.operated_on, second.obligation, second.state, second.ccer_kind) == (
        date(2023, 9, 30), "2019-2020", "withdrawn", None,  # a blank date is the message's
    )  # fmt: skip
    assert (third.state, third.ccer_kind, third.quantity_t) == ("used", "new", 10_000)


def test_operation_row_errors() -> None:
    rows: list[list[Cell]] = [
        OPS_HEADER,
        [1, "a", "2023-09-10", "甲", A, None, None, None, 2021, 1, None, None],
        [2, "b", "2023-09-10", "甲", A, None, None, None, "二〇二一", 1, "待抵销", None],
        [3, "c", "2023-09-10", "甲", A, None, None, None, 2021, -1, "待抵销", "旧"],
        [4, "d", "2023-09-10", "甲", A, None, None, None, 2021, 1, "待抵销", "未知"],
        [5, "e", "2023-09-10", "甲", A, None, None, None, 2021, 1, "待确认", None],
    ]
    table = parse(rows)
    assert table.records == []
    assert [e.reason for e in table.row_errors] == [
        "第2行：状态为空",
        "第3行：抵销年度 二〇二一 不是可识别的年度",
        "第4行：抵销量（万吨） -1 为负数",
        "第5行：减排量类型 未知 不是可识别的CCER类型",
        "第6行：状态 待确认 不是可识别的状态",
    ]


def test_the_kind_of_a_quantity_list_is_told_by_its_other_columns_and_the_subject() -> None:
    weekly: list[list[Cell]] = [
        ["单位名称", "统一社会信用代码", "申请抵销量", "确认结果"],
        ["甲", A, 1, "已确认"],
    ]
    assert parse(weekly).kind == "weekly_summary"
    ops: list[list[Cell]] = [["单位名称", "统一社会信用代码", "申请抵销量", "抵销年度"], ["甲", A, 1, 2021]]
    assert parse(ops).kind == "offset_operations"
    daily: list[list[Cell]] = [["操作日期", "账户名称", "数量", "状态"], ["2021-11-15", "甲", 1, "已抵销"]]
    assert parse(daily).kind == "offset_operations"
    assert parse(daily, "cancellation_list").kind == "cancellation_list"  # the subject breaks the tie
    assert kind_from_subject("转发：全国履约抵销操作记录（2023年9月）") == "offset_operations"
    assert kind_from_subject("山东省CCER抵销配额清缴申请汇总表") == "weekly_summary"


def test_the_registry_is_trusted_for_operations_only_and_officers_for_their_province() -> None:
    senders = Senders.build(["ncsc@x.example"], {"山东省": ["sd@x.example"]}, registry=[REGISTRY.upper()])
    assert judge(senders, REGISTRY, "offset_operations", None).trusted
    assert judge(senders, REGISTRY, "offset_operations", "广东省").province is None
    refused = judge(senders, REGISTRY, "roster", None)
    assert not refused.trusted and "抵销操作记录" in (refused.reason or "")
    assert not judge(senders, "ncsc@x.example", "offset_operations", None).trusted
    assert judge(senders, "sd@x.example", "offset_operations", "山东省").province == "山东省"
    assert not judge(senders, "sd@x.example", "offset_operations", "广东省").trusted
    assert senders.is_configured(REGISTRY)


def test_the_registry_senders_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "ccerbot.toml"
    path.write_text(f'[senders]\nregistry = ["{REGISTRY}"]\n', encoding="utf-8")
    assert load_settings(str(path)).trusted_senders().registry == frozenset({REGISTRY})
    assert load_settings(None).senders.registry == []
