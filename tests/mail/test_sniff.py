"""File types are told by content; names and MIME types only break ties."""

from __future__ import annotations

import pytest

from mail.sniff import FileType, sniff
from tests.mail.corpus import (
    compound_file,
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


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (xlsx_bytes(ROWS), "xlsx"),
        (xlsx_bytes(ROWS, wps_dimension=True), "xlsx"),
        (xlsx_bytes(ROWS)[:3000], "xlsx"),  # truncated: still an xlsx, to be refused as such
        (xls_bytes(ROWS), "xls"),
        (encrypted_xlsx_bytes(), "encrypted"),
        (zip_bytes({"a.xlsx": xlsx_bytes(ROWS)}), "zip"),
        (csv_bytes(TEXT_ROWS), "csv"),
        (csv_bytes(TEXT_ROWS, "gbk"), "csv"),
        (csv_bytes(TEXT_ROWS, "utf-16"), "csv"),
        (csv_bytes(TEXT_ROWS, delimiter="\t"), "csv"),
        (csv_bytes(TEXT_ROWS, delimiter=";"), "csv"),
        (html_table(TEXT_ROWS).encode(), "html"),
        (
            (
                "<!DOCTYPE html>\n<html><head><meta charset=gb2312></head><body>" + html_table(TEXT_ROWS)
            ).encode("gbk"),
            "html",
        ),
        (noise(4096), "unknown"),
        (b"", "unknown"),
        (b"\x00\x01\x02\x03,\t;", "unknown"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "unknown"),
    ],
    ids=[
        "xlsx",
        "xlsx-wps",
        "xlsx-truncated",
        "xls",
        "encrypted-ooxml",
        "zip",
        "csv-utf8-bom",
        "csv-gbk",
        "csv-utf16",
        "tsv",
        "csv-semicolon",
        "html-fragment",
        "html-page-gbk",
        "random",
        "empty",
        "control-bytes",
        "pdf",
    ],
)
def test_content_decides(data: bytes, expected: FileType) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    ("data", "name", "ctype", "expected"),
    [
        (
            xls_bytes(ROWS),
            "汇总表.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xls",
        ),
        (xlsx_bytes(ROWS), "汇总表.xls", "application/vnd.ms-excel", "xlsx"),
        (csv_bytes(TEXT_ROWS), "汇总表.xls", "application/vnd.ms-excel", "csv"),
        (html_table(TEXT_ROWS).encode(), "汇总表.xls", "application/vnd.ms-excel", "html"),
        (noise(2048), "汇总表.xlsx", "application/octet-stream", "unknown"),
    ],
)
def test_names_and_types_that_lie_are_ignored(data: bytes, name: str, ctype: str, expected: FileType) -> None:
    assert sniff(data, name, ctype) == expected


def test_text_without_delimiters_is_csv_only_when_named_so() -> None:
    data = "账户名称\n青岛恒信电力有限公司\n".encode()
    assert sniff(data) == "unknown"
    assert sniff(data, "名单.csv") == "csv"
    assert sniff(data, None, "text/csv; charset=utf-8") == "csv"
    assert sniff(data, "说明.txt", "text/plain") == "unknown"


def test_ooxml_that_is_not_a_workbook_is_unknown() -> None:
    docx = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    assert sniff(docx, "汇总.xlsx") == "unknown"


def test_ole2_without_encryption_streams_is_xls() -> None:
    assert sniff(compound_file([("Workbook", b"\x09\x08")])) == "xls"


def test_a_character_cut_at_the_sampling_boundary_is_still_text() -> None:
    line = "青岛恒信电力有限公司,214000\r\n".encode()
    data = line * (70_000 // len(line))
    cut = 65536 % len(line)
    assert len(data) > 65536 and cut < 30 and cut % 3  # 64 KiB ends inside a three-byte character
    assert sniff(data) == "csv"


def test_xml_and_opendocument_are_not_tables_of_ours() -> None:
    xml = b'<?xml version="1.0"?><office:document-content a="1,2;3">'
    assert sniff(xml) == "unknown"
    assert sniff(
        zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": xml})
    ) == ("unknown")


def test_csv_whose_first_cell_starts_with_markup_is_csv_when_named_so() -> None:
    data = "<备注>,数量\r\n青岛,1\r\n".encode()
    assert sniff(data) == "unknown"
    assert sniff(data, "注销记录.csv") == "csv"
