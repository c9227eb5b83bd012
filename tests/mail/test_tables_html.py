"""Tables out of HTML mail bodies and of .xls files that are really web pages."""

from __future__ import annotations

import pytest

from mail.tables import Limits, TableUnreadable, read_tables, tables_from_html
from tests.mail.corpus import html_table

ROWS: list[list[object]] = [
    ["单位名称", "项目编号", "申请抵销量（吨）"],
    ["青岛恒信电力有限公司", "CCER-1", "100"],
    [None, "CCER-2", "200"],
    ["合计", None, "300"],
]


def test_rowspan_and_colspan_leave_none_in_the_spanned_cells() -> None:
    html = html_table(ROWS, spans={(1, 0): (2, 1), (3, 0): (1, 2)})
    assert tables_from_html(html)[0].rows == ROWS


def test_body_text_around_tables_and_several_tables() -> None:
    html = (
        "<html><head><title>注销记录</title><style>td {color: red}</style></head><body>"
        "<p>各位好：</p>" + html_table([["a", "b"]]) + "<p>另：</p>" + html_table([["c"]]) + "</body></html>"
    )
    assert [(t.name, t.rows) for t in tables_from_html(html)] == [("表格1", [["a", "b"]]), ("表格2", [["c"]])]


def test_unclosed_cells_and_rows_and_missing_tr() -> None:
    html = "<table><td>序号<td>名称<tr><td>1<td>青岛<tr><td>2<td>烟台</table>"
    assert tables_from_html(html)[0].rows == [["序号", "名称"], ["1", "青岛"], ["2", "烟台"]]


def test_entities_nbsp_and_line_breaks_in_cells() -> None:
    html = (
        "<table><tr><th>账户&nbsp;名称</th><td>青岛&amp;烟台<br>第二行</td><td>&#x31;&#50;</td></tr></table>"
    )
    assert tables_from_html(html)[0].rows == [["账户 名称", "青岛&烟台\n第二行", "12"]]


def test_rowspan_zero_and_oversized_spans_stop_at_the_table_edge() -> None:
    html = (
        '<table><tr><td rowspan="0">a</td><td>b</td></tr><tr><td>c</td></tr>'
        '<tr><td rowspan="999">d</td></tr></table>'
    )
    # "a" covers the first column to the end, so "c" and "d" move right; "d" spans no phantom rows.
    assert tables_from_html(html)[0].rows == [["a", "b"], [None, "c"], [None, "d"]]


def test_nested_table_is_its_own_table() -> None:
    html = "<table><tr><td>外<table><tr><td>内</td></tr></table></td><td>x</td></tr></table>"
    tables = tables_from_html(html)
    assert sorted(t.rows[0][0] for t in tables if t.rows[0][0]) == ["内", "外"]


def test_caption_names_the_table_and_empty_tables_are_dropped() -> None:
    html = "<table><caption>注销记录</caption><tr><td>a</td></tr></table><table><tr><td> </td></tr></table>"
    assert [(t.name, t.rows) for t in tables_from_html(html)] == [("注销记录", [["a"]])]


def test_xls_that_is_a_web_page_in_gb2312() -> None:
    page = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office">\r\n<head>'
        '<meta http-equiv=Content-Type content="text/html; charset=gb2312"></head><body>'
        + html_table([["账户名称", "数量"], ["镕喆能源", "5"]])
        + "</body></html>"
    )
    tables = read_tables(page.encode("gb18030"), "注销记录.xls", "application/vnd.ms-excel")
    assert tables[0].rows == [["账户名称", "数量"], ["镕喆能源", "5"]]


def test_huge_spans_are_refused_before_the_grid_is_built() -> None:
    html = "<table>" + '<tr><td colspan="1000" rowspan="100">x</td></tr>' * 200 + "</table>"
    with pytest.raises(TableUnreadable) as caught:
        tables_from_html(html, Limits(max_cells=100_000))
    assert caught.value.reason == "表格范围过大（超过 100000 个单元格）"
