"""Messy mail and spreadsheets built in memory with the real writers, for any test to reuse.

Every builder returns bytes (or text, for HTML) in the shapes FORMATS.md describes: WPS dimensions,
merged cells, GBK file names in every encoding mailers use, forwarded messages, and so on."""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import re
import struct
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_from_bytes

import openpyxl
import xlwt
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.worksheet import Worksheet
from xlrd.compdoc import CompDoc

Row = Sequence[Any]  # a cell: str, int, float, date, datetime or None
AttachmentSpec = tuple[str | None, bytes, str | None]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS_TYPE = "application/vnd.ms-excel"
CRLF = "\r\n"


# --- spreadsheets -------------------------------------------------------------------------------


def xlsx_bytes(
    rows: Sequence[Row],
    *,
    wps_dimension: bool = False,
    merged: Sequence[str] = (),
    sheet: str = "Sheet1",
    more_sheets: Mapping[str, Sequence[Row]] | None = None,
    hidden: Sequence[str] = (),
) -> bytes:
    """An .xlsx written by openpyxl. merged: ranges like "A3:A4" (the value stays in the top-left cell).
    wps_dimension: every sheet declares `<dimension ref="A1"/>`, as WPS Office does."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = sheet
    _fill(first, rows)
    for area in merged:
        first.merge_cells(area)
    for name, extra in (more_sheets or {}).items():
        _fill(book.create_sheet(name), extra)
    for name in hidden:
        book[name].sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    return _declare_a1(data) if wps_dimension else data


def _fill(ws: Worksheet, rows: Sequence[Row]) -> None:
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)


def _declare_a1(data: bytes) -> bytes:
    return rewrite_zip(
        data,
        lambda name, body: (
            re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', body)
            if name.startswith("xl/worksheets/")
            else body
        ),
    )


def rewrite_zip(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The same archive with every member passed through change(name, bytes) -> bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
    return out.getvalue()


def xls_bytes(
    rows: Sequence[Row], *, merged: Sequence[str] = (), sheet: str = "Sheet1", wps_irregular: bool = False
) -> bytes:
    """An .xls written by xlwt; dates get a date format. wps_irregular: repackaged so that the root
    entry's mini stream overlaps the workbook stream, which makes plain xlrd fail with
    "Workbook corruption: seen[2] == 4" as it does on files from WPS."""
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet(sheet)
    spans = [_zero_based(area) for area in merged]
    covered = {(r, c) for r1, c1, r2, c2 in spans for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    for r1, c1, r2, c2 in spans:
        ws.write_merge(r1, r2, c1, c2, *_xls_cell(_at(rows, r1, c1)))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None and (r, c) not in covered:
                ws.write(r, c, *_xls_cell(value))
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    return compound_file([("Workbook", workbook_stream(data))], overlap_root=True) if wps_irregular else data


def encrypted_xls_bytes(rows: Sequence[Row]) -> bytes:
    """An .xls whose globals carry a FILEPASS record (XOR obfuscation), as a password-protected file does."""
    stream = workbook_stream(xls_bytes(rows))
    at = stream.find(struct.pack("<HH", 0x0019, 2))  # WINDOWPROTECT: same length as a short FILEPASS
    assert at > 0
    stream = stream[:at] + struct.pack("<HHH", 0x002F, 2, 0) + stream[at + 6 :]
    return compound_file([("Workbook", stream)])


def encrypted_xlsx_bytes() -> bytes:
    """The container of a password-protected OOXML file (MS-OFFCRYPTO): an OLE2 compound file with
    EncryptionInfo and EncryptedPackage streams. The payload is noise; readers stop at the container."""
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00"  # version 4.4: agile encryption
    return compound_file([("EncryptionInfo", info), ("EncryptedPackage", noise(6400, "package"))])


def noise(size: int, seed: str = "noise") -> bytes:
    """Deterministic bytes that look random: binary garbage for tests that must not flake."""
    out = b""
    block = seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:size]


def workbook_stream(xls: bytes) -> bytes:
    return bytes(CompDoc(xls, logfile=io.StringIO()).get_named_stream("Workbook"))


def _zero_based(area: str) -> tuple[int, int, int, int]:
    c1, r1, c2, r2 = range_boundaries(area)
    assert None not in (c1, r1, c2, r2)
    return int(r1) - 1, int(c1) - 1, int(r2) - 1, int(c2) - 1  # type: ignore[arg-type]


def _at(rows: Sequence[Row], r: int, c: int) -> object:
    return rows[r][c] if r < len(rows) and c < len(rows[r]) else None


_XLS_DATE = xlwt.easyxf(num_format_str="YYYY-MM-DD")
_XLS_DATETIME = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")


def _xls_cell(value: object) -> tuple[object, ...]:
    if isinstance(value, datetime):
        return (value, _XLS_DATETIME)
    if isinstance(value, date):
        return (value, _XLS_DATE)
    return ("" if value is None else value,)


def csv_bytes(rows: Sequence[Row], encoding: str = "utf-8-sig", *, delimiter: str = ",") -> bytes:
    """Rows as delimited text (CRLF lines, as Excel writes them), e.g. encoding "gbk" or "gb18030"."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=CRLF)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue().encode(encoding)


def html_table(rows: Sequence[Row], *, spans: Mapping[tuple[int, int], tuple[int, int]] | None = None) -> str:
    """A <table>; spans maps (row, column) to (rowspan, colspan), and the cells they cover are left out."""
    spans = spans or {}
    covered = {
        (r + dr, c + dc)
        for (r, c), (rs, cs) in spans.items()
        for dr in range(rs)
        for dc in range(cs)
        if (dr, dc) != (0, 0)
    }
    lines = ['<table border="1" cellspacing="0">']
    for r, row in enumerate(rows):
        cells = [_html_cell(value, spans.get((r, c))) for c, value in enumerate(row) if (r, c) not in covered]
        lines.append("  <tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _html_cell(value: object, span: tuple[int, int] | None) -> str:
    attrs = f' rowspan="{span[0]}" colspan="{span[1]}"' if span else ""
    return f"<td{attrs}>{'' if value is None else html.escape(str(value))}</td>"


def zip_bytes(members: Mapping[str, bytes], *, gbk_names: bool = False) -> bytes:
    """A .zip; gbk_names: names stored as GBK without the UTF-8 flag, as Chinese Windows tools do."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = _GbkName(name) if gbk_names else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


class _GbkName(zipfile.ZipInfo):
    # zipfile's hook for the bytes of the name; the public API can only write ASCII or flagged UTF-8.
    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gb18030"), self.flag_bits


# --- OLE2 compound files ------------------------------------------------------------------------

_SECTOR = 512
_END, _FREE, _FAT_SECTOR, _NONE = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
_MINI_CUTOFF = 4096


def compound_file(streams: Sequence[tuple[str, bytes]], *, overlap_root: bool = False) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding these streams.

    Streams are padded to the mini-stream cutoff so that everything lives in ordinary sectors.
    overlap_root: the root entry claims a mini stream inside the first stream's sectors."""
    padded = [(name, data.ljust(_MINI_CUTOFF, b"\0")) for name, data in streams]
    dir_sectors = (len(padded) + 1 + 3) // 4
    data_sectors = sum(_sectors(data) for _, data in padded)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors + data_sectors:
        fat_sectors += 1
    fat = [_FAT_SECTOR] * fat_sectors + _chain(fat_sectors, dir_sectors)
    entries: list[bytes] = []
    body = b""
    for index, (name, data) in enumerate(padded):
        start = len(fat)
        fat += _chain(start, _sectors(data))
        sibling = index + 2 if index + 1 < len(padded) else _NONE
        entries.append(_dir_entry(name, 2, start, len(data), right=sibling))
        body += data.ljust(_sectors(data) * _SECTOR, b"\0")
    first_stream = fat_sectors + dir_sectors
    root_start, root_size = (first_stream, 128) if overlap_root else (_END, 0)
    root = _dir_entry("Root Entry", 5, root_start, root_size, child=1 if padded else _NONE)
    directory = b"".join([root, *entries]).ljust(dir_sectors * _SECTOR, b"\0")
    fat += [_FREE] * (fat_sectors * 128 - len(fat))
    return _cfb_header(fat_sectors, fat_sectors) + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def _sectors(data: bytes) -> int:
    return (len(data) + _SECTOR - 1) // _SECTOR


def _chain(start: int, count: int) -> list[int]:
    return [start + i + 1 for i in range(count - 1)] + [_END]


def _dir_entry(
    name: str, kind: int, start: int, size: int, *, child: int = _NONE, right: int = _NONE
) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0"
    entry = raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
    entry += struct.pack("<III", _NONE, right, child) + b"\0" * 36
    return entry + struct.pack("<IQ", start, size)


def _cfb_header(fat_sectors: int, dir_start: int) -> bytes:
    difat = list(range(fat_sectors)) + [_FREE] * (109 - fat_sectors)
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\0" * 6 + struct.pack("<9I", 0, fat_sectors, dir_start, 0, _MINI_CUTOFF, _END, 0, _END, 0)
    return header + struct.pack("<109I", *difat)


# --- mail ---------------------------------------------------------------------------------------

FILENAME_STYLES = ("rfc2231-utf8", "rfc2231-gbk", "rfc2047-gb18030", "raw-gbk")


def build_message(
    *,
    sender: str,
    to: str | Sequence[str],
    subject: str,
    date: datetime,
    attachments: Sequence[AttachmentSpec] = (),
    html_body: str | None = None,
    text_body: str = "请查收附件。",
    subject_charset: str = "utf-8",
    filename_style: str = "rfc2231-utf8",
    forwarded_by: str | None = None,
    message_id: str | None = None,
    cc: Sequence[str] = (),
    split_words: bool = False,
) -> bytes:
    """One message as the wire carries it (CRLF, base64 parts).

    subject_charset: a charset label for RFC 2047 words (gb2312 and gbk labels are written with
    GB18030 bytes, as real mailers do), or "raw-<codec>" for unencoded 8-bit bytes.
    split_words: cut the subject's bytes into words at arbitrary points, even inside a character.
    filename_style: one of FILENAME_STYLES. message_id: None makes one from the content.
    forwarded_by: the message travels as a message/rfc822 attachment of a new one from that address."""
    inner = _message(
        sender=sender,
        to=[to] if isinstance(to, str) else list(to),
        cc=list(cc),
        subject=_subject_header(subject, subject_charset, split_words),
        date=date,
        parts=[_text_part("text/plain", text_body, "utf-8")]
        + ([_text_part("text/html", html_body, "gb2312")] if html_body is not None else [])
        + [_attachment_part(name, data, ctype, filename_style) for name, data, ctype in attachments],
        message_id=message_id,
    )
    if forwarded_by is None:
        return inner
    return forward_message(inner, by=forwarded_by, to=to, subject="转发：" + subject, date=date)


def forward_message(inner: bytes, *, by: str, to: str | Sequence[str], subject: str, date: datetime) -> bytes:
    """A new message from `by` carrying `inner` as a message/rfc822 attachment."""
    return _message(
        sender=by,
        to=[to] if isinstance(to, str) else list(to),
        cc=[],
        subject=_subject_header(subject, "utf-8", False),
        date=date,
        parts=[_text_part("text/plain", "转发的邮件见附件。", "utf-8"), _rfc822_part(inner)],
        message_id=None,
    )


def _message(
    *,
    sender: str,
    to: list[str],
    cc: list[str],
    subject: bytes,
    date: datetime,
    parts: list[bytes],
    message_id: str | None,
) -> bytes:
    boundary = "=_part_" + hashlib.sha1(b"".join(parts) + subject).hexdigest()[:20]
    body = b"".join(b"--" + boundary.encode() + CRLF.encode() + part + CRLF.encode() for part in parts)
    body += b"--" + boundary.encode() + b"--" + CRLF.encode()
    ident = message_id or f"<{hashlib.sha1(body + sender.encode()).hexdigest()[:24]}@{sender.split('@')[-1]}>"
    head = [f"From: {sender}", f"To: {', '.join(to)}"]
    head += [f"Cc: {', '.join(cc)}"] if cc else []
    headers = CRLF.join(head).encode() + CRLF.encode() + b"Subject: " + subject + CRLF.encode()
    headers += CRLF.join(
        [
            f"Date: {format_datetime(date)}",
            f"Message-ID: {ident}",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
        ]
    ).encode()
    return headers + (CRLF * 2).encode() + body


def _subject_header(subject: str, charset: str, split: bool) -> bytes:
    if charset.startswith("raw-"):
        return subject.encode(_codec(charset.removeprefix("raw-")))
    if split:
        data = subject.encode(_codec(charset))
        words = [_b_word(charset, data[i : i + 7]) for i in range(0, len(data), 7)]
    else:  # good mailers cut between characters
        words = _words_at_chars(subject, charset)
    return (CRLF + " ").join(words).encode()


def _words_at_chars(text: str, charset: str) -> list[str]:
    words: list[str] = []
    current = ""
    for ch in text:
        if len((current + ch).encode(_codec(charset))) > 45:
            words.append(_b_word(charset, current.encode(_codec(charset))))
            current = ""
        current += ch
    return [*words, _b_word(charset, current.encode(_codec(charset)))]


def _b_word(charset: str, data: bytes) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def _codec(label: str) -> str:
    return "gb18030" if label.lower() in ("gb2312", "gbk", "gb18030") else label


def _text_part(ctype: str, text: str, charset: str) -> bytes:
    head = f'Content-Type: {ctype}; charset="{charset}"{CRLF}Content-Transfer-Encoding: base64{CRLF}{CRLF}'
    return head.encode() + _base64_lines(text.encode(_codec(charset)))


def _attachment_part(filename: str | None, data: bytes, ctype: str | None, style: str) -> bytes:
    ctype = ctype or "application/octet-stream"
    type_line, disposition = _filename_headers(filename, style)
    head = f"Content-Type: {ctype}".encode() + type_line + CRLF.encode()
    head += b"Content-Disposition: attachment" + disposition + CRLF.encode()
    head += f"Content-Transfer-Encoding: base64{CRLF}{CRLF}".encode()
    return head + _base64_lines(data)


def _filename_headers(filename: str | None, style: str) -> tuple[bytes, bytes]:
    """The (Content-Type, Content-Disposition) parameter text naming the file in that style."""
    if filename is None:
        return b"", b""
    fold = (";" + CRLF + " ").encode()
    if style in ("rfc2231-utf8", "rfc2231-gbk"):
        charset = "utf-8" if style == "rfc2231-utf8" else "GBK"
        raw = filename.encode(_codec(charset))
        half = max(1, len(raw) // 2)  # may cut a character in two: RFC 2231 joins bytes, then decodes
        first = f"filename*0*={charset}''{quote_from_bytes(raw[:half], safe='')}".encode()
        second = f"filename*1*={quote_from_bytes(raw[half:], safe='')}".encode()
        return b"", fold + first + fold + second
    if style == "rfc2047-gb18030":
        word = _b_word("gb18030", filename.encode("gb18030")).encode()
        return fold + b'name="' + word + b'"', fold + b'filename="' + word + b'"'
    if style == "raw-gbk":
        raw = filename.encode("gb18030")
        return fold + b'name="' + raw + b'"', fold + b'filename="' + raw + b'"'
    raise ValueError(f"unknown filename style {style!r}")


def _rfc822_part(inner: bytes) -> bytes:
    head = f"Content-Type: message/rfc822{CRLF}Content-Disposition: attachment{CRLF}{CRLF}"
    return head.encode() + inner


def _base64_lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF.encode())
