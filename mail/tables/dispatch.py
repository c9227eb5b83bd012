"""One reader per file type, and the promise that a reader fails only with TableUnreadable."""

from __future__ import annotations

from collections.abc import Callable

from mail.sniff import FileType
from mail.tables import csv, html, xls, xlsx
from mail.tables.errors import TableUnreadable
from mail.tables.limits import Limits, check_rows
from mail.tables.model import Table

Reader = Callable[[bytes, str | None, Limits], list[Table]]

READERS: dict[FileType, Reader] = {"xlsx": xlsx.read, "xls": xls.read, "csv": csv.read, "html": html.read}
# What the sender is told when a reader's library fails in a way we did not foresee.
FAILED: dict[FileType, str] = {
    "xlsx": "附件不是有效的 .xlsx 文件，或文件已损坏",
    "xls": "附件不是有效的 .xls 文件，或文件不完整",
    "csv": "无法读取 CSV 附件",
    "html": "无法读取 HTML 表格",
    "zip": "无法读取压缩包",
}


def read_kind(kind: FileType, data: bytes, name: str | None, limits: Limits) -> list[Table]:
    reader = READERS.get(kind)
    if reader is None:
        raise refusal(kind)
    tables = guarded(kind, reader, data, name, limits)
    for table in tables:
        check_rows(len(table.rows), limits)
    return tables


def guarded(kind: FileType, reader: Reader, data: bytes, name: str | None, limits: Limits) -> list[Table]:
    try:
        return reader(data, name, limits)
    except TableUnreadable:
        raise
    except MemoryError as exc:
        raise TableUnreadable("附件展开后过大，无法读取") from exc
    except Exception as exc:  # every library error becomes a reason the sender can read
        raise TableUnreadable(FAILED[kind]) from exc


def refusal(kind: FileType) -> TableUnreadable:
    if kind == "encrypted":
        return TableUnreadable("附件已加密")
    return TableUnreadable("不是表格文件")
