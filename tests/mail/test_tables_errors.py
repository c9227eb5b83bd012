"""Whatever arrives, read_tables returns tables or raises TableUnreadable with a Chinese reason."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail.tables import Limits, TableUnreadable, read_tables
from tests.mail.corpus import (
    XLSX_TYPE,
    csv_bytes,
    encrypted_xlsx_bytes,
    html_table,
    noise,
    xls_bytes,
    xlsx_bytes,
    zip_bytes,
)

ROWS: list[list[object]] = [["账户名称", "注销数量（吨）"], ["青岛恒信电力有限公司", 214000]]
TEXT_ROWS = [["账户名称", "注销数量（吨）"], ["青岛恒信电力有限公司", "214000"]]
VALID = {
    "xlsx": xlsx_bytes(ROWS),
    "xls": xls_bytes(ROWS),
    "csv": csv_bytes(TEXT_ROWS, "gbk"),
    "html": html_table(TEXT_ROWS).encode(),
    "zip": zip_bytes({"a.xlsx": xlsx_bytes(ROWS), "b.csv": csv_bytes(TEXT_ROWS)}),
}


def reason(data: bytes, filename: str | None = None, limits: Limits | None = None) -> str:
    with pytest.raises(TableUnreadable) as caught:
        read_tables(data, filename, None, limits or Limits())
    return caught.value.reason


def test_binary_garbage_named_xlsx() -> None:
    assert reason(noise(5000), "汇总表.xlsx") == "不是表格文件"


def test_empty_attachment() -> None:
    assert reason(b"", "汇总表.xlsx") == "不是表格文件"


def test_encrypted_ooxml() -> None:
    assert reason(encrypted_xlsx_bytes(), "汇总表.xlsx") == "附件已加密"


def test_too_large_before_anything_is_parsed() -> None:
    assert reason(b"0" * (20 * 1024 * 1024 + 1), "a.csv") == "附件超过 20 MB"
    assert reason(VALID["xlsx"], "a.xlsx", Limits(max_bytes=5 * 1024 * 1024, max_rows=1)) == "行数超过 1"
    assert reason(VALID["xlsx"], "a.xlsx", Limits(max_bytes=1024)).startswith("附件超过")


def test_each_kind_reads() -> None:
    for kind, data in VALID.items():
        tables = read_tables(data, None, None)
        assert tables and tables[0].rows[1][0] == "青岛恒信电力有限公司", kind


def test_an_attachment_with_no_values_gives_no_tables() -> None:
    assert read_tables(xlsx_bytes([]), "空.xlsx", XLSX_TYPE) == []
    assert read_tables(b"<table><tr><td></td></tr></table>", "a.html", None) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(VALID)),
    cuts=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=16)), min_size=1, max_size=4),
    truncate=st.none() | st.floats(0, 1),
)
def test_damaged_files_never_raise_anything_else(
    kind: str, cuts: list[tuple[float, bytes]], truncate: float | None
) -> None:
    data = bytearray(VALID[kind])
    for where, junk in cuts:
        at = int(where * (len(data) - 1))
        data[at : at + len(junk)] = junk
    if truncate is not None:
        del data[int(truncate * len(data)) :]
    try:
        tables = read_tables(bytes(data), None, None)
    except TableUnreadable as refused:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.reason)  # said in Chinese
        return
    assert isinstance(tables, list)
