"""A .zip attachment holding spreadsheets: one level only, never trusted."""

from __future__ import annotations

import zipfile

from mail.sniff import sniff
from mail.tables.archive import Budget, check_declared, member_name, open_zip, read_member
from mail.tables.dispatch import read_kind, refusal
from mail.tables.errors import TableUnreadable
from mail.tables.limits import Limits, MiB
from mail.tables.model import Table

# Written by archivers and file managers, never by a person.
_JUNK_PREFIXES = ("__MACOSX/",)
_JUNK_NAMES = ("thumbs.db", "desktop.ini", ".ds_store")


def read(data: bytes, name: str | None, limits: Limits) -> list[Table]:
    with open_zip(data) as archive:
        members = [info for info in archive.infolist() if not _junk(info)]
        if len(members) > limits.max_zip_members:
            raise TableUnreadable(f"压缩包内文件过多（超过 {limits.max_zip_members} 个）")
        check_declared(members, limits, ratio=True)
        budget = Budget(limits)
        tables: list[Table] = []
        spreadsheets = 0
        for info in members:
            found = _member(archive, info, budget, limits)
            if found is not None:
                spreadsheets += 1
                tables += found
    if not spreadsheets:
        raise TableUnreadable("压缩包内没有表格文件")
    return tables


def _member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, limits: Limits
) -> list[Table] | None:
    data = read_member(archive, info, budget, ratio=True)
    if len(data) > limits.max_bytes:
        raise TableUnreadable(f"压缩包内的文件超过 {limits.max_bytes / MiB:g} MB")
    name = member_name(info)
    kind = sniff(data, name)
    if kind == "zip":
        raise TableUnreadable("压缩包内还有压缩包，不支持多层压缩")
    if kind == "encrypted":
        raise refusal(kind)
    if kind == "unknown":
        return None  # a readme or a scanned letter next to the spreadsheet
    return read_kind(kind, data, name.rsplit("/", 1)[-1], limits)


def _junk(info: zipfile.ZipInfo) -> bool:
    base = info.filename.rsplit("/", 1)[-1]
    return (
        info.is_dir()
        or info.filename.startswith(_JUNK_PREFIXES)
        or base.lower() in _JUNK_NAMES
        or base.startswith("._")
    )
