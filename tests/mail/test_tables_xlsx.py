"""Reading .xlsx: values, positions, merged cells, WPS dimensions, several sheets, hostile packages."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font

from mail.tables import Limits, TableUnreadable, read_tables
from tests.mail.corpus import XLSX_TYPE, rewrite_zip, xlsx_bytes, zip_bytes

TITLE = "山东省CCER抵销配额清缴申请汇总表（截至2021年12月10日）"
HEADER: list[object] = ["序号", "单位名称", "统一社会信用代码", "申请抵销量（吨）", "确认日期", "注销时间"]
ROWS: list[list[object]] = [
    [TITLE],
    [],
    HEADER,
    [
        1,
        "青岛恒信电力有限公司",
        "913703082HD1TJ3Y9U",
        642000.0,
        date(2021, 11, 1),
        datetime(2021, 12, 2, 17, 40),
    ],
    [None, None, None, 1234.5, date(2021, 11, 2), None],
    ["合计", None, None, 643234.5, None, None],
]


def read(data: bytes, limits: Limits | None = None) -> list[list[object]]:
    tables = read_tables(data, "汇总表.xlsx", XLSX_TYPE, limits or Limits())
    assert len(tables) == 1
    return [list(row) for row in tables[0].rows]


def test_values_positions_and_types() -> None:
    rows = read(xlsx_bytes(ROWS))
    assert rows[0] == [TITLE, None, None, None, None, None]
    assert rows[1] == [None] * 6  # the empty row 2 is kept: rows[i] is Excel row i + 1
    assert rows[2] == HEADER
    assert rows[3] == [
        1,
        "青岛恒信电力有限公司",
        "913703082HD1TJ3Y9U",
        642000,
        date(2021, 11, 1),
        datetime(2021, 12, 2, 17, 40),
    ]
    assert type(rows[3][3]) is int  # integral floats become int
    assert rows[4][3] == 1234.5
    assert rows[5][0] == "合计"


def test_wps_dimension_does_not_hide_rows() -> None:
    data = xlsx_bytes(ROWS, wps_dimension=True)
    sheet_xml = _member(data, "xl/worksheets/sheet1.xml")
    assert re.search(rb'<dimension ref="A1"\s*/>', sheet_xml)
    assert read(data) == read(xlsx_bytes(ROWS))


def test_merged_cells_keep_the_value_in_the_top_left_only() -> None:
    rows: list[list[object]] = [
        ["单位名称", "项目编号"],
        ["青岛恒信电力有限公司", "CCER-1"],
        [None, "CCER-2"],
        [None, "CCER-3"],
    ]
    got = read(xlsx_bytes(rows, merged=["A2:A4"]))
    assert [row[0] for row in got] == ["单位名称", "青岛恒信电力有限公司", None, None]
    assert [row[1] for row in got] == ["项目编号", "CCER-1", "CCER-2", "CCER-3"]


def test_data_that_starts_away_from_a1_keeps_its_columns() -> None:
    got = read(xlsx_bytes([[], [], [None, None, "账户名称", "数量"], [None, None, "青岛", 5]]))
    assert got[2] == [None, None, "账户名称", "数量"]
    assert got[3] == [None, None, "青岛", 5]


def test_every_visible_sheet_with_data_and_only_those() -> None:
    data = xlsx_bytes(
        [["山东"]],
        more_sheets={"空白": [], "广东": [["广东"]], "旧数据": [["作废"]]},
        hidden=["旧数据"],
    )
    tables = read_tables(data, None, None)
    assert [(t.name, t.rows) for t in tables] == [("Sheet1", [["山东"]]), ("广东", [["广东"]])]


def test_a_styled_empty_cell_far_away_does_not_stretch_the_table() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws["A1"] = "账户名称"
    ws["AZ5000"].font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    assert read(out.getvalue()) == [["账户名称"]]


def test_a_few_thousand_rows_all_arrive() -> None:
    rows = [HEADER] + [
        [i, f"单位{i}", f"91370{i:013d}", i * 10, date(2021, 11, 1), None] for i in range(3000)
    ]
    got = read(xlsx_bytes(rows, wps_dimension=True))
    assert len(got) == 3001
    assert got[-1][:4] == [2999, "单位2999", "913700000000002999", 29990]


def test_too_many_rows() -> None:
    with pytest.raises(TableUnreadable) as caught:
        read(xlsx_bytes([[i] for i in range(30)]), Limits(max_rows=20))
    assert caught.value.reason == "行数超过 20"


def test_xml_entity_bomb_is_refused_not_expanded() -> None:
    entities = '<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 16}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )  # &i; would be 64 * 16**8 bytes, about 275 GB

    def bomb(name: str, body: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return body
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", body)
        name = "青岛恒信电力有限公司"  # as text, or as character references (openpyxl writing with lxml)
        body = body.replace(name.encode(), b"&i;").replace(
            "".join(f"&#{ord(c)};" for c in name).encode(), b"&i;"
        )
        return f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'.encode() + body

    data = rewrite_zip(xlsx_bytes(ROWS), bomb)
    assert b"&i;" in _member(data, "xl/worksheets/sheet1.xml")
    with pytest.raises(TableUnreadable) as caught:
        read(data)
    assert caught.value.reason


def test_package_that_expands_beyond_the_total_is_refused_before_parsing() -> None:
    rows = [["x" * 1000] for _ in range(200)]  # about 200 kB of XML
    with pytest.raises(TableUnreadable) as caught:
        read(xlsx_bytes(rows), Limits(max_zip_total=100_000))
    assert caught.value.reason == "压缩包展开后过大"


def test_truncated_file() -> None:
    data = xlsx_bytes(ROWS)
    with pytest.raises(TableUnreadable) as caught:
        read(data[: len(data) * 2 // 3])
    assert caught.value.reason == "附件不完整（文件被截断）"


def test_corrupted_compressed_data() -> None:
    data = bytearray(xlsx_bytes(ROWS))
    at = data.index(b"xl/worksheets/sheet1.xml") + 200  # inside the sheet's compressed bytes
    data[at : at + 40] = bytes(40)
    with pytest.raises(TableUnreadable) as caught:
        read(bytes(data))
    assert caught.value.reason.startswith("附件已损坏")


def test_package_whose_sheet_is_not_xml() -> None:
    data = rewrite_zip(
        xlsx_bytes(ROWS), lambda n, b: b"\x00garbage" if n == "xl/worksheets/sheet1.xml" else b
    )
    with pytest.raises(TableUnreadable) as caught:
        read(data)
    assert ".xlsx" in caught.value.reason


def _member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def test_cells_far_apart_are_refused_before_the_reader_lays_them_out() -> None:
    with pytest.raises(TableUnreadable) as caught:
        read(
            xlsx_bytes([["账户名称"], *[[] for _ in range(4998)], [None] * 51 + ["远处"]]),
            Limits(max_cells=100_000),
        )
    assert caught.value.reason == "表格范围过大（超过 100000 个单元格）"


def test_styled_blank_cells_do_not_count_towards_the_area() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws["A1"] = "账户名称"
    ws["XFD1048576"].font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    assert read(out.getvalue(), Limits(max_cells=10)) == [["账户名称"]]


def test_sparse_bomb_does_not_take_the_process_down() -> None:
    # Run apart: without the guard the reader aborts the whole process, which no except can catch.
    code = (
        "from tests.mail.corpus import xlsx_bytes\n"
        "from mail.tables import read_tables, TableUnreadable\n"
        "data = xlsx_bytes([['a']] + [[] for _ in range(99_998)] + [[None] * 16383 + ['b']])\n"
        "try:\n    read_tables(data, 'x.xlsx', None)\n"
        "except TableUnreadable as e:\n    print(e.reason)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False, cwd=root
    )
    assert done.stdout.strip().startswith("表格范围过大"), done.stderr[-2000:]


def test_binary_workbook_is_refused_with_advice() -> None:
    members = _members(xlsx_bytes(ROWS))
    renamed = zip_bytes({name.replace("sheet1.xml", "sheet1.bin"): body for name, body in members.items()})
    with pytest.raises(TableUnreadable) as caught:
        read(renamed)
    assert ".xlsb" in caught.value.reason


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
