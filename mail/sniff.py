"""What kind of file an attachment is, judged by its bytes: names and MIME types lie.

The name and MIME type only break ties: text that could be a one-column CSV, say."""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
from typing import Literal

FileType = Literal["xlsx", "xls", "csv", "html", "zip", "unknown", "encrypted"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A password-protected OOXML file is an OLE2 container holding this stream (MS-OFFCRYPTO).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_HEAD = 64 * 1024
# file names that say "a table" even when the bytes cannot tell (a sheet an old program saved oddly)
SPREADSHEET_NAMES = (".xlsx", ".xlsm", ".xls", ".et", ".csv", ".zip", ".ods")
_DELIMITERS = (",", "\t", ";")
_HTML_MARKERS = ("<html", "<table", "<!doctype html")
# Control characters that never occur in text (tab, line feed, form feed and carriage return do).
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
# Only for text that could be something else (one column, or a first cell that starts with "<");
# a .txt next to a spreadsheet is a note.
_CSV_NAMES = (".csv", ".tsv")
_CSV_TYPES = ("text/csv", "text/tab-separated-values", "application/csv")


def sniff(data: bytes, filename: str | None = None, content_type: str | None = None) -> FileType:
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
    if data.startswith(_OLE2_MAGIC):
        return "encrypted" if _ENCRYPTED_STREAM in data else "xls"
    text = head_text(data)
    if text is None:
        return "unknown"
    named_csv = _named_csv(filename, content_type)
    if text.lstrip().startswith("<") and not named_csv:  # a web page, or XML that is no table of ours
        return "html" if _looks_html(text) else "unknown"
    if any(delimiter in text for delimiter in _DELIMITERS) or named_csv:
        return "csv" if text.strip() else "unknown"
    return "unknown"


def head_text(data: bytes) -> str | None:
    """The first 64 KiB as text, if the bytes are text in a charset we read; None for binary."""
    head = data[:_HEAD]
    for codec in text_codecs(head):
        try:
            # Incremental, so that a character cut by the 64 KiB boundary is not an error.
            text = codecs.getincrementaldecoder(codec)().decode(head, final=len(data) <= _HEAD)
        except UnicodeDecodeError:
            continue
        return None if _BINARY.search(text) else text
    return None


def text_codecs(data: bytes) -> tuple[str, ...]:
    """The codecs to try, in order: a UTF-16 byte-order mark (Excel's "Unicode text") decides alone."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)
    return ("utf-8-sig", "gb18030")


def _zip_kind(data: bytes) -> FileType:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except Exception:  # zipfile fails in many ways on damaged input; sniffing must not
        # Truncated: the directory at the end is gone, but local headers still name the members.
        return "xlsx" if any(name.startswith(b"xl/") for name in _local_names(data)) else "zip"
    if "[Content_Types].xml" in names:
        return "xlsx" if any(name.startswith("xl/") for name in names) else "unknown"
    # OpenDocument (.ods, .odt) is a zip too, named by its first member.
    return "unknown" if "mimetype" in names else "zip"


def _local_names(data: bytes) -> list[bytes]:
    """Member names from the local file headers (signature, 22 bytes, name length, 2 bytes, name)."""
    names: list[bytes] = []
    at = data.find(_ZIP_MAGIC[0])
    while at >= 0 and at + 30 <= len(data):
        (length,) = struct.unpack_from("<H", data, at + 26)
        names.append(data[at + 30 : at + 30 + length])
        at = data.find(_ZIP_MAGIC[0], at + 4)
    return names


def _looks_html(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _HTML_MARKERS)


def _named_csv(filename: str | None, content_type: str | None) -> bool:
    name = (filename or "").lower()
    return name.endswith(_CSV_NAMES) or (content_type or "").lower().split(";")[0].strip() in _CSV_TYPES
