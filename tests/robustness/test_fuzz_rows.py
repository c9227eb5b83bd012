"""Fuzzing the row parser: any grid of cells such as the readers give (header synonyms, amounts and dates
in every format, blanks, junk) becomes a ParsedTable, never an exception; every amount of every record
is a whole, non-negative number of tonnes; and every row of the sheet is a record or a row error at most
once, each error saying in Chinese which row it is about.
"""

from __future__ import annotations

import math
import re
import tomllib
from datetime import date, datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.creditcode import ALPHABET, make_code
from mail.records import ApplicationRecord, CancellationLine, MessageKind, ParsedTable, RosterRecord
from mail.rows import parse_table
from mail.values import Cell
from tests.intake.world import UNITS

TZ = ZoneInfo("Asia/Shanghai")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KINDS: list[MessageKind] = ["roster", "weekly_summary", "cancellation_list"]
_CJK = re.compile(r"[\u3400-\u9fff]")


def _synonyms() -> dict[str, list[str]]:
    words = tomllib.loads(resources.files("mail").joinpath("headers.toml").read_text(encoding="utf-8"))
    fields = words["fields"]
    common = [text for texts in fields["common"].values() for text in texts]
    return {kind: common + [text for texts in fields[kind].values() for text in texts] for kind in KINDS}


SYNONYMS = _synonyms()
ALL_HEADERS = sorted({text for texts in SYNONYMS.values() for text in texts})

# ---- cells -------------------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789,.-", "０１２３４５６７８９，．－")


@st.composite
def amounts(draw: st.DrawFn) -> Cell:
    n = draw(st.integers(-(10**7), 10**12))
    return draw(
        st.sampled_from(
            [
                n,
                float(n),
                n + 0.5,
                str(n),
                f"{n:,}",
                f"{n:,}".translate(FULL_WIDTH),
                f"{n / 10000:g}万",
                f"{n / 10000:g}万吨",
                f"({abs(n):,})",
                f"{n} 吨",
                f"{n:_}",
            ]
        )
    )


_JUNK_TEXT = [
    "1e20",
    "1e300",
    "1E5",
    "NaN",
    "nan",
    "∞",
    "-∞",
    "inf",
    "约5万",
    "五万",
    "12,34",
    "1,2345",
    "--5",
    "+",
    ".",
    "0x10",
]
JUNK_AMOUNTS = st.one_of(
    st.sampled_from(_JUNK_TEXT),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)


@st.composite
def dates(draw: st.DrawFn) -> Cell:
    day = draw(st.dates(min_value=date(1899, 12, 30), max_value=date(2100, 12, 31)))
    moment = draw(st.datetimes(min_value=datetime(1899, 12, 30), max_value=datetime(2100, 12, 31)))
    serial = draw(st.integers(-5, 3_000_000))
    return draw(
        st.sampled_from(
            [
                day,
                moment,
                day.isoformat(),
                f"{day.year}年{day.month}月{day.day}日",
                day.strftime("%Y%m%d"),
                moment.strftime("%Y/%m/%d %H:%M"),
                moment.strftime("%Y-%m-%d %H时%M分%S秒"),
                serial,
                serial + 0.4375,
                str(serial),
                moment.isoformat(),
                moment.strftime("%H:%M"),
            ]
        )
    )


JUNK_DATES = st.sampled_from(
    ["2021-02-30", "2021-13-01", "昨天", "2021年", "99:99", "20211341", "0000-00-00"]
)


@st.composite
def codes(draw: st.DrawFn) -> Cell:
    body = draw(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
    code = make_code(body)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    return draw(
        st.sampled_from([code, code.lower(), f" {code[:6]} {code[6:]} ", wrong, code[:10], code + "X"])
    )


NAMES = st.sampled_from(
    [u.name for u in UNITS]
    + ["　华能（国际）电力  ", "HUANENG Power", "无", "-", "/", "合计", "注：以上数据仅供参考"]
)
WORDS = st.sampled_from(
    [
        "已确认",
        "确认",
        "通过",
        "不予确认",
        "退回",
        "待确认",
        "审核中",
        "已完成",
        "是",
        "否",
        "未完成",
        "也许",
        "?",
    ]
)
VINTAGES = st.sampled_from(
    [
        "2014-01-01至2016-10-31",
        "2014.1.1-2016.10.31",
        "2014年1月至2016年10月",
        "2015",
        "2017-03-01至",
        "至2016",
        "x",
    ]
)
SERIALS = st.sampled_from(["001071803900-001072079599", "A123至A456", "001", "-", "x-y", "123-", "1-2-3"])
TITLES = st.sampled_from(
    [
        "CCER抵销配额清缴申请汇总表",
        "截至日期：2021年11月5日",
        "（截至2021-12-14）",
        "截止",
        "山东省",
        "合计",
        "注：单位为吨",
    ]
)
BLANKS = st.sampled_from([None, "", " ", "\u3000", "—", "/", "无", "\xa0"])
CELLS: st.SearchStrategy[Cell] = st.one_of(
    amounts(),
    JUNK_AMOUNTS,
    dates(),
    JUNK_DATES,
    codes(),
    NAMES,
    WORDS,
    VINTAGES,
    SERIALS,
    TITLES,
    BLANKS,
    st.text(max_size=12),
    st.integers(),
    st.sampled_from(ALL_HEADERS),
)


def header_texts(kind: MessageKind) -> st.SearchStrategy[str]:
    plain = st.sampled_from(SYNONYMS[kind])
    return st.one_of(
        plain,
        plain.map(lambda t: f"2019-2020年度{t}（吨）"),
        plain.map(lambda t: f"{t}（万吨）"),
        plain.map(lambda t: f" {t}\n"),
        st.sampled_from(ALL_HEADERS),
        st.text(max_size=6),
    )


@st.composite
def grids(draw: st.DrawFn) -> tuple[list[list[Cell]], MessageKind | None]:
    kind = draw(st.sampled_from(KINDS))
    titles = draw(st.lists(st.lists(TITLES | BLANKS, max_size=3), max_size=3))
    header = draw(st.lists(header_texts(kind) | BLANKS, min_size=1, max_size=12))
    below = draw(
        st.sampled_from([[], [], ["起", "止"], [None, None, None, "（万吨）"], ["序号", "单位名称"]])
    )
    width = len(header) + 2
    body = draw(st.lists(st.lists(CELLS, max_size=width), max_size=14))
    hint = draw(st.sampled_from([None, kind, *KINDS]))
    rows = [*titles, list(header), *([list(below)] if below else []), *body]
    return [list(row) for row in rows], hint


# ---- the promise -------------------------------------------------------------------------------


def rows_of(record: object) -> set[int]:
    if isinstance(record, ApplicationRecord):
        return {record.row} | {line.row for line in record.lines}
    assert isinstance(record, RosterRecord | CancellationLine)
    return {record.row}


def amounts_of(record: object) -> list[int | None]:
    if isinstance(record, RosterRecord):
        return [record.allowances_due_t, record.surrendered_t]
    if isinstance(record, ApplicationRecord):
        lines = [amount for line in record.lines for amount in (line.requested_t, line.confirmed_t)]
        return [record.allowances_due_t, *lines]
    assert isinstance(record, CancellationLine)
    return [record.quantity_t]


RECORD_TYPES = {
    "roster": RosterRecord,
    "weekly_summary": ApplicationRecord,
    "cancellation_list": CancellationLine,
}


def check(parsed: ParsedTable, rows: list[list[Cell]]) -> None:
    assert isinstance(parsed, ParsedTable)
    if parsed.kind == "unknown":
        assert parsed.records == [] and parsed.row_errors == []
        return
    seen: list[int] = []
    for record in parsed.records:
        assert isinstance(record, RECORD_TYPES[parsed.kind])
        for amount in amounts_of(record):
            assert amount is None or (type(amount) is int and amount >= 0), (record, amount)
        if isinstance(record, RosterRecord):
            assert record.allowances_due_t is not None
        if isinstance(record, CancellationLine):
            assert record.cancelled_at.tzinfo is not None
        seen += sorted(rows_of(record))
    for error in parsed.row_errors:
        assert error.reason.startswith(f"第{error.row}行：") and _CJK.search(error.reason), error.reason
        seen.append(error.row)
    assert len(seen) == len(set(seen)), f"a row counted twice: {sorted(seen)}"
    assert all(parsed.header_row < row <= len(rows) for row in seen), (parsed.header_row, seen)


@FUZZ
@given(grid=grids(), default=st.none() | st.dates(min_value=date(2021, 1, 1), max_value=date(2022, 12, 31)))
def test_grids_with_a_header(grid: tuple[list[list[Cell]], MessageKind | None], default: date | None) -> None:
    rows, hint = grid
    check(parse_table(rows, kind_hint=hint, tz=TZ, default_date=default), rows)


@FUZZ
@given(
    rows=st.lists(st.lists(CELLS, max_size=10), max_size=16),
    hint=st.sampled_from([None, *KINDS]),
)
def test_grids_of_anything(rows: list[list[Cell]], hint: MessageKind | None) -> None:
    check(parse_table(rows, kind_hint=hint, tz=TZ), rows)


def _fields(kind: MessageKind) -> list[tuple[str, str]]:
    """(field, its first synonym) for every field the kind knows, in the order headers.toml lists them."""
    words = tomllib.loads(resources.files("mail").joinpath("headers.toml").read_text(encoding="utf-8"))
    return [(name, texts[0]) for name, texts in (words["fields"]["common"] | words["fields"][kind]).items()]


FIELDS = {kind: _fields(kind) for kind in KINDS}


@st.composite
def good_amounts(draw: st.DrawFn) -> Cell:
    n = draw(st.integers(0, 10**9))
    return draw(st.sampled_from([n, float(n), str(n), f"{n:,}", f"{n:,}".translate(FULL_WIDTH), f"{n} 吨"]))


@st.composite
def good_codes(draw: st.DrawFn) -> Cell:
    code = make_code(draw(st.text(alphabet=ALPHABET, min_size=17, max_size=17)))
    return draw(st.sampled_from([code, code.lower(), f" {code[:6]} {code[6:]} "]))


GOOD: dict[str, st.SearchStrategy[Cell]] = {
    "code": good_codes(),
    "name": NAMES,
    "holder_name": NAMES,
    "cancelled_at": dates(),
    "cancelled_time": dates(),
    "confirmed_on": dates(),
    "result": st.sampled_from(["已确认", "待确认", "退回", "通过"]),
    "complied": st.sampled_from(["已完成", "未完成", "是", "否"]),
    "vintage": VINTAGES,
    "serial_range": SERIALS,
    "province": st.sampled_from(["山东省", "广东", "山东", "北京市"]),
}
JUNK = JUNK_AMOUNTS | JUNK_DATES | codes() | WORDS | st.text(max_size=8)


def field_cells(name: str) -> st.SearchStrategy[Cell]:
    """Mostly what the column should hold, sometimes blank, now and then junk."""
    good = good_amounts() if name.endswith("_t") else GOOD.get(name, st.text(max_size=10))
    return st.integers(0, 39).flatmap(lambda n: good if n < 36 else BLANKS if n < 38 else JUNK)


@st.composite
def full_tables(draw: st.DrawFn) -> tuple[MessageKind, list[list[Cell]]]:
    kind = draw(st.sampled_from(KINDS))
    header: list[Cell] = [text for _, text in FIELDS[kind]]
    row = st.tuples(*(field_cells(name) for name, _ in FIELDS[kind])).map(list)
    return kind, [header, *draw(st.lists(row, max_size=10))]


@FUZZ
@given(table=full_tables())
def test_every_field_named_and_cells_mostly_right(table: tuple[MessageKind, list[list[Cell]]]) -> None:
    """Every field of the kind has its column, so every row is read field by field."""
    kind, rows = table
    check(parse_table(rows, kind_hint=kind, tz=TZ, default_date=date(2021, 11, 19)), rows)


@pytest.mark.parametrize("amount", [1e24, "1000000000000000000000000万", "1000000000000000000000000"])
def test_a_huge_amount_in_ten_thousand_tonnes_is_a_row_error(amount: Cell) -> None:
    rows: list[list[Cell]] = [
        ["注销日期", "账户名称", "注销数量（万吨）"],
        ["2021-11-19", "青岛测试热电有限公司", amount],
    ]
    parsed = parse_table(rows, kind_hint="cancellation_list", tz=TZ)
    check(parsed, rows)
    assert [e.row for e in parsed.row_errors] == [2]
