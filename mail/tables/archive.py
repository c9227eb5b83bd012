"""Opening zip containers (a .zip attachment, or the package inside an .xlsx) without trusting them.

Header sizes are checked first, then every member is streamed through a byte budget, because a
crafted archive can declare small sizes and still expand without end."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from mail.tables.errors import TableUnreadable
from mail.tables.limits import Limits, too_expanded

_CHUNK = 64 * 1024
_ENCRYPTED_FLAG = 0x1
_UTF8_FLAG = 0x800


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise TableUnreadable("附件不完整（文件被截断）") from exc
    except Exception as exc:  # a damaged directory breaks zipfile in many ways (versions, offsets, ...)
        raise TableUnreadable("附件已损坏，无法解压") from exc


def check_declared(infos: list[zipfile.ZipInfo], limits: Limits, *, ratio: bool) -> None:
    """Refuse before expanding anything when the headers already say it is too much."""
    if any(info.flag_bits & _ENCRYPTED_FLAG for info in infos):
        raise TableUnreadable("附件已加密")
    if sum(info.file_size for info in infos) > limits.max_zip_total:
        raise too_expanded()
    if ratio and any(_ratio_exceeded(info.file_size, info.compress_size, limits) for info in infos):
        raise too_expanded()


@dataclass
class Budget:
    """Bytes actually expanded so far, across all members of one archive."""

    limits: Limits
    spent: int = 0

    def take(self, size: int) -> None:
        self.spent += size
        if self.spent > self.limits.max_zip_total:
            raise too_expanded()


Consumer = Callable[[bytes], object]


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, *, ratio: bool) -> bytes:
    out = bytearray()
    stream(zf, info, budget, ratio=ratio, consume=out.extend)
    return bytes(out)


def verify(
    zf: zipfile.ZipFile, limits: Limits, watch: Callable[[zipfile.ZipInfo], Consumer | None] | None = None
) -> None:
    """Expand every member once, keeping nothing: proves sizes and checksums before a parser runs.

    watch(info) may return a consumer that sees that member's bytes as they stream past."""
    budget = Budget(limits)
    for info in zf.infolist():
        consumer = watch(info) if watch else None
        stream(zf, info, budget, ratio=False, consume=consumer or _discard)


def _discard(chunk: bytes) -> None:
    return None


def stream(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, *, ratio: bool, consume: Consumer
) -> None:
    expanded = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(_CHUNK):
                expanded += len(chunk)
                budget.take(len(chunk))
                if ratio and _ratio_exceeded(expanded, info.compress_size, budget.limits):
                    raise too_expanded()
                consume(chunk)
    except TableUnreadable:
        raise
    except NotImplementedError as exc:
        raise TableUnreadable("附件使用了不支持的压缩方式") from exc
    except RuntimeError as exc:  # zipfile's way of saying a member needs a password
        raise TableUnreadable("附件已加密") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise TableUnreadable("附件已损坏（压缩数据校验失败）") from exc


def _ratio_exceeded(expanded: int, compressed: int, limits: Limits) -> bool:
    return expanded > limits.zip_ratio_floor and expanded > limits.max_zip_ratio * max(compressed, 1)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author typed it: Chinese Windows tools write GBK without saying so."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename
