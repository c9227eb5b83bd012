"""Reading old .xls: dates, merged cells, files WPS leaves irregular, encrypted and broken ones."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import xlrd

from mail.tables import Limits, TableUnreadable, read_tables
from tests.mail.corpus import XLS_TYPE, compound_file, encrypted_xls_bytes, noise, workbook_stream, xls_bytes

ROWS: list[list[object]] = [
    ["全国碳市场重点排放单位CCER注销记录"],
    ["序号", "注销日期", "账户名称", "注销数量（吨）", "操作时间"],
    [1, date(2021, 11, 15), "青岛恒信电力有限公司", 214000, datetime(2021, 11, 15, 17, 40, 5)],
    [2, date(2021, 11, 16), None, 1.5, None],
]


def read(data: bytes, limits: Limits | None = None) -> list[list[object]]:
    tables = read_tables(data, "注销记录.xls", XLS_TYPE, limits or Limits())
    assert len(tables) == 1
    return [list(row) for row in tables[0].rows]


def test_values_dates_and_numbers() -> None:
    rows = read(xls_bytes(ROWS))
    assert rows[0] == ["全国碳市场重点排放单位CCER注销记录", None, None, None, None]
    assert rows[1] == ROWS[1]
    assert rows[2] == [
        1,
        date(2021, 11, 15),
        "青岛恒信电力有限公司",
        214000,
        datetime(2021, 11, 15, 17, 40, 5),
    ]
    assert type(rows[2][0]) is int and type(rows[2][1]) is date
    assert rows[3] == [2, date(2021, 11, 16), None, 1.5, None]


def test_merged_cells_keep_the_value_in_the_top_left_only() -> None:
    rows: list[list[object]] = [
        ["单位名称", "项目编号"],
        ["青岛恒信电力有限公司", "CCER-1"],
        [None, "CCER-2"],
    ]
    got = read(xls_bytes(rows, merged=["A2:A3"]))
    assert got == [["单位名称", "项目编号"], ["青岛恒信电力有限公司", "CCER-1"], [None, "CCER-2"]]


def test_irregular_compound_file_from_wps_is_read() -> None:
    data = xls_bytes(ROWS, wps_irregular=True)
    with pytest.raises(xlrd.compdoc.CompDocError, match="seen"):  # what a strict reader says of it
        xlrd.open_workbook(file_contents=data, logfile=io.StringIO())
    assert read(data) == read(xls_bytes(ROWS))


def test_workbook_stream_named_book_as_older_writers_do() -> None:
    data = compound_file([("Book", workbook_stream(xls_bytes(ROWS)))])
    assert read(data) == read(xls_bytes(ROWS))


def test_encrypted_workbook() -> None:
    with pytest.raises(TableUnreadable) as caught:
        read(encrypted_xls_bytes(ROWS))
    assert caught.value.reason == "附件已加密"


def test_truncated_file() -> None:
    data = xls_bytes(ROWS)
    with pytest.raises(TableUnreadable) as caught:
        read(data[: len(data) // 2])
    assert ".xls" in caught.value.reason


def test_compound_file_without_a_workbook() -> None:
    with pytest.raises(TableUnreadable) as caught:
        read(compound_file([("WordDocument", noise(5000))]))
    assert ".xls" in caught.value.reason


def test_broken_records_inside_a_valid_container() -> None:
    stream = bytearray(workbook_stream(xls_bytes(ROWS)))
    stream[20:400] = noise(380)
    with pytest.raises(TableUnreadable):
        read(compound_file([("Workbook", bytes(stream))]))


def test_too_many_rows() -> None:
    with pytest.raises(TableUnreadable) as caught:
        read(xls_bytes([[i] for i in range(30)]), Limits(max_rows=20))
    assert caught.value.reason == "行数超过 20"
