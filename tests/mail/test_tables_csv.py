"""Reading CSV in every encoding and delimiter offices produce."""

from __future__ import annotations

import csv

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mail.tables import Limits, TableUnreadable, read_tables
from mail.tables.csv import sniff_delimiter
from tests.mail.corpus import csv_bytes

ROWS: list[list[object]] = [
    ["全国碳市场重点排放单位CCER注销记录（山东省）", None, None, None],
    [None, None, None, None],
    ["注销日期", "账户名称", "序列号", "注销数量（吨）"],
    ["2021-11-24", "青岛恒信电力有限公司", "CN-1-2", "1,234,567"],
    ["2021-11-24 17:40", "镕喆能源（集团）有限公司", "CN-3-4", "２１４０００"],
    ["注：本表数据截至当日17:00", None, None, None],
]


def read(data: bytes, name: str | None = "注销记录.csv") -> list[list[object]]:
    tables = read_tables(data, name, "text/csv")
    assert len(tables) == 1
    return [list(row) for row in tables[0].rows]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_encodings_and_delimiters(encoding: str, delimiter: str) -> None:
    assert read(csv_bytes(ROWS, encoding, delimiter=delimiter)) == ROWS


def test_gbk() -> None:
    rows = [["账户名称", "数量"], ["青岛恒信电力有限公司", "5"]]  # no character outside GBK
    assert read(csv_bytes(rows, "gbk")) == rows


def test_cells_stay_text_and_blanks_are_none() -> None:
    got = read(csv_bytes([["代码", "数量", "备注"], ["0913", "1,234", ""]]))
    assert got == [["代码", "数量", "备注"], ["0913", "1,234", None]]


def test_quoted_fields_with_delimiters_and_line_breaks() -> None:
    rows = [["名称", "备注"], ["青岛,恒信", "第一行\n第二行"]]
    assert read(csv_bytes(rows)) == rows


def test_table_named_after_the_file() -> None:
    assert read_tables(csv_bytes([["a", "b"]]), "记录.csv", None)[0].name == "记录.csv"
    assert read_tables(csv_bytes([["a", "b"]]), None, None)[0].name == "csv"


def test_delimiter_of_the_body_wins_over_a_title_line() -> None:
    lines = ["标题，含逗号,和分号;", "a\tb\tc", "1\t2\t3", "4\t5\t6"]
    assert sniff_delimiter(lines) == "\t"


def test_text_in_no_charset_we_read() -> None:
    data = b"a,b\r\n\xff\xfe\xfd,\x81\r\n"
    with pytest.raises(TableUnreadable):
        read_tables(data, "x.csv", "text/csv")


def test_too_many_rows() -> None:
    with pytest.raises(TableUnreadable) as caught:
        read_tables(csv_bytes([[str(i), "x"] for i in range(30)]), "x.csv", None, Limits(max_rows=20))
    assert caught.value.reason == "行数超过 20"


cell_text = st.text(
    alphabet=st.characters(codec="gb18030", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(cell_text, min_size=2, max_size=5), min_size=1, max_size=8).map(
        lambda rows: [row + [row[0]] * (5 - len(row)) for row in rows]  # one width, as a sheet has
    ),
    encoding=st.sampled_from(["utf-8-sig", "gb18030", "utf-16"]),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_any_text_round_trips(rows: list[list[str]], encoding: str, delimiter: str) -> None:
    # A file whose cells are nothing but another delimiter (a tab-separated column of lone commas) reads
    # as well one way as the other: no reader can tell, so such tables are not asked to round-trip.
    assume(not any(set(cell) <= set(",;\t") for row in rows for cell in row))
    # Nor one where every cell holds the same other delimiter ("0;,0;,0;" is five cells by commas and six
    # by semicolons, each row as wide as the next either way).
    cells = [cell for row in rows for cell in row]
    assume(not any(all(other in cell for cell in cells) for other in set(",;\t") - {delimiter}))
    # Nor one whose every line another delimiter splits into as many cells ("0,\t0\t0,\t0,\t0," is five
    # cells by tabs and five by commas): it is a table either way.
    data = csv_bytes(rows, encoding, delimiter=delimiter)
    lines = data.decode(encoding).splitlines()
    for other in set(",;\t") - {delimiter}:
        assume({len(cells) for cells in csv.reader(lines, delimiter=other)} != {len(rows[0])})
    expected = [[cell if cell != "" else None for cell in row] for row in rows]
    assert read(data) == expected


def test_one_very_long_line_does_not_widen_every_row() -> None:
    data = ("a," * 2000 + "\r\n" + "b,c\r\n" * 100).encode()
    with pytest.raises(TableUnreadable) as caught:
        read_tables(data, "x.csv", None, Limits(max_cells=100_000))
    assert caught.value.reason == "表格范围过大（超过 100000 个单元格）"
