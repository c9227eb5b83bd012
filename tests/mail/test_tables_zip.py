"""A .zip attachment: one level of spreadsheets, refused when it is a bomb, nested or locked."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from mail.tables import Limits, TableUnreadable, read_tables
from mail.tables.archive import Budget, read_member
from tests.mail.corpus import csv_bytes, encrypted_xlsx_bytes, xls_bytes, xlsx_bytes, zip_bytes

ROWS = [["账户名称", "注销数量（吨）"], ["青岛恒信电力有限公司", "214000"]]
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"


def reason(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(TableUnreadable) as caught:
        read_tables(data, "附件.zip", "application/zip", limits or Limits())
    return caught.value.reason


def patch_all(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one field of every header with that signature."""
    out = bytearray(data)
    at = out.find(signature)
    while at >= 0:
        struct.pack_into(fmt, out, at + offset, value)
        at = out.find(signature, at + 4)
    return bytes(out)


def test_spreadsheets_of_every_kind_inside() -> None:
    data = zip_bytes(
        {
            "山东/申请汇总表.xlsx": xlsx_bytes(ROWS),
            "注销记录.xls": xls_bytes(ROWS),
            "注销记录.csv": csv_bytes(ROWS, "gbk"),
        },
        gbk_names=True,
    )
    tables = read_tables(data, "附件.zip", "application/zip")
    assert [(t.name, t.rows) for t in tables] == [
        ("Sheet1", ROWS),
        ("Sheet1", ROWS),
        ("注销记录.csv", ROWS),  # a GBK name without the UTF-8 flag, decoded
    ]


def test_notes_and_archiver_junk_are_skipped() -> None:
    data = zip_bytes(
        {
            "说明.txt": "请查收。".encode(),
            "__MACOSX/._注销记录.xlsx": b"\x00\x05\x16\x07",
            "._注销记录.xlsx": b"\x00\x05\x16\x07",
            "Thumbs.db": b"\xd0\xcf\x11\xe0junk",
            "注销记录.xlsx": xlsx_bytes(ROWS),
        }
    )
    assert [t.rows for t in read_tables(data, None, None)] == [ROWS]


def test_no_spreadsheet_inside() -> None:
    assert (
        reason(zip_bytes({"说明.txt": "请查收。".encode(), "scan.pdf": b"%PDF-1.4\x00\x01"}))
        == "压缩包内没有表格文件"
    )


def test_nested_zip_is_refused() -> None:
    inner = zip_bytes({"注销记录.xlsx": xlsx_bytes(ROWS)})
    assert "多层压缩" in reason(zip_bytes({"inner.zip": inner}))


def test_encrypted_spreadsheet_inside() -> None:
    assert reason(zip_bytes({"注销记录.xlsx": encrypted_xlsx_bytes()})) == "附件已加密"


def test_password_protected_archive() -> None:
    data = zip_bytes({"注销记录.csv": csv_bytes(ROWS)})
    locked = patch_all(patch_all(data, CENTRAL, 8, "<H", 1), LOCAL, 6, "<H", 1)
    assert reason(locked) == "附件已加密"


def test_bomb_by_ratio_is_refused_before_expanding() -> None:
    assert reason(zip_bytes({"a.csv": b"0" * (3 * 1024 * 1024)})) == "压缩包展开后过大"


def test_bomb_by_total_is_refused_before_expanding() -> None:
    members = {f"{i}.csv": csv_bytes(ROWS) * 500 for i in range(4)}
    assert reason(zip_bytes(members), Limits(max_zip_total=100_000)) == "压缩包展开后过大"


def test_member_larger_than_an_attachment_may_be() -> None:
    members = {"a.csv": csv_bytes(ROWS) * 20_000}  # about 1.4 MB, compresses well
    limits = Limits(max_bytes=1024 * 1024, max_zip_ratio=10_000)
    assert reason(zip_bytes(members), limits) == "压缩包内的文件超过 1 MB"


def test_too_many_members() -> None:
    members = {f"{i}.csv": csv_bytes(ROWS) for i in range(6)}
    assert reason(zip_bytes(members), Limits(max_zip_members=5)) == "压缩包内文件过多（超过 5 个）"


def test_headers_that_understate_the_size_let_nothing_more_through() -> None:
    data = zip_bytes({"a.csv": csv_bytes(ROWS) * 2000})
    lying = patch_all(patch_all(data, CENTRAL, 24, "<I", 100), LOCAL, 22, "<I", 100)
    assert reason(lying).startswith("附件已损坏")


def test_streaming_stops_at_the_budget_whatever_the_headers_say() -> None:
    data = zip_bytes({"a.csv": b"x" * 500_000})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        budget = Budget(Limits(max_zip_total=200_000))
        with pytest.raises(TableUnreadable) as caught:
            read_member(archive, archive.infolist()[0], budget, ratio=False)
    assert caught.value.reason == "压缩包展开后过大"
    assert budget.spent <= 200_000 + 64 * 1024  # stopped within one chunk of the cap


def test_truncated_archive() -> None:
    data = zip_bytes({"注销记录.csv": csv_bytes(ROWS) * 100})
    assert reason(data[: len(data) // 2]) == "附件不完整（文件被截断）"


def test_directory_claiming_an_unknown_zip_version() -> None:
    data = patch_all(zip_bytes({"注销记录.csv": csv_bytes(ROWS)}), CENTRAL, 6, "<H", 1000)
    assert reason(data) == "附件已损坏，无法解压"
