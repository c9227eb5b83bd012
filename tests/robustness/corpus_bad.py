"""Bad files and messages, each with what intake must make of it.

`CORPUS` maps a name to a `Bad`: a builder of the raw message (built only when asked, because some are
large) and an `Expect`: quarantined with a reason that contains a given text, or applied row by row with
the given rows refused, the given units changed and the given tables grown.

Every message is judged against the world `seed` leaves: the two provinces' rosters of
`tests.intake.world`, a weekly summary from each province and one day of cancellations. A message with
good rows changes unit A (山东) only: its roster raises A's allowances, its summary raises A's request,
its cancellation list adds one cancellation of A; its bad rows concern other units.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Literal
from urllib.parse import quote_from_bytes
from xml.sax.saxutils import escape

from sqlalchemy.engine import Engine

from tests.intake.world import (
    GD,
    GD_UNITS,
    NCSC,
    SD,
    SD_UNITS,
    at,
    daily_rows,
    daily_subject,
    roster_rows,
    seeded,
    take,
    weekly_rows,
    weekly_subject,
)
from tests.mail.corpus import (
    XLS_TYPE,
    XLSX_TYPE,
    AttachmentSpec,
    build_message,
    csv_bytes,
    encrypted_xls_bytes,
    encrypted_xlsx_bytes,
    forward_message,
    html_table,
    noise,
    xls_bytes,
    xlsx_bytes,
    zip_bytes,
)

A, B, C = SD_UNITS
G1 = GD_UNITS[0]
MiB = 1024 * 1024
CRLF = b"\r\n"

# ---- expectations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    outcome: Literal["quarantined", "row_errors"]
    reason: str = ""  # quarantined: a part of the reason
    rows: tuple[int, ...] = ()  # row_errors: the sheet rows refused (1-based, as Excel shows them)
    applied: int = 0  # row_errors: the records applied
    touched: tuple[str, ...] = ()  # row_errors: codes of the units whose status the good rows change
    grows: Mapping[str, int] = field(default_factory=dict)  # row_errors: table → rows added
    loose: tuple[str, ...] = ()  # tables whose row count is not checked (how a fix stores it may vary)
    heavy: bool = False  # run in a subprocess under a memory limit


@dataclass(frozen=True)
class Bad:
    name: str
    build: Callable[[], bytes]
    expect: Expect


CORPUS: dict[str, Bad] = {}


def bad(expect: Expect) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(build: Callable[[], bytes]) -> Callable[[], bytes]:
        assert build.__name__ not in CORPUS, build.__name__
        CORPUS[build.__name__] = Bad(build.__name__, build, expect)
        return build

    return register


def quarantined(reason: str, *, heavy: bool = False) -> Expect:
    return Expect("quarantined", reason=reason, heavy=heavy)


# ---- the world the corpus is judged against ----------------------------------------------------

A_NEW_DUE = 4_200_000  # A's allowances in every roster of the corpus (seeded: 4,000,000)
A_NEW_REQUEST = 160_000  # A's request in every weekly summary of the corpus (seeded: 150,000)
A_NEW_SERIAL = 2_000_000  # A's new cancellation in every list of the corpus
WHEN = "2021-11-20T10:00"
ROSTER_SUBJECT = "山东省2019-2020年度重点排放单位名录（更新）"
WEEKLY_AS_OF = "2021年11月19日"


def seed(engine: Engine) -> Engine:
    """Rosters of both provinces, a weekly summary from each, one day of cancellations."""
    seeded(engine)
    sd_weekly = weekly_rows([(A, 150_000, "已确认"), (B, 400_000, "待确认")], "2021年11月5日")
    gd_weekly = weekly_rows([(G1, 200_000, "已确认")], "2021年11月5日")
    daily = daily_rows([("2021-11-10 10:30", A.name, A.code, 1_000, 50_000)])
    for raw in (
        _xlsx_message(SD, weekly_subject("山东省", "2021年11月5日"), "2021-11-05T16:30", sd_weekly, to=NCSC),
        _xlsx_message(GD, weekly_subject("广东省", "2021年11月5日"), "2021-11-05T16:40", gd_weekly, to=NCSC),
        _xlsx_message(NCSC, daily_subject("山东省", "2021年11月10日"), "2021-11-10T17:40", daily, to=SD),
    ):
        outcome = take(engine, raw)
        assert outcome.outcome == "applied", outcome
    return engine


# ---- grids: a good row for A, bad rows for the others ------------------------------------------

Grid = list[list[object]]
ROSTER_DUE, ROSTER_STATUS, ROSTER_CODE = 5, 7, 3  # columns of world.ROSTER_HEADER
ROSTER_BAD_ROW = 5  # title, header, A, B, C
WEEKLY_REQUESTED = 5
DAILY_WHEN, DAILY_QUANTITY = 1, 8


def roster_grid(column: int, value: object) -> Grid:
    """The Shandong roster with A's allowances raised and one cell of C's row spoiled."""
    rows = roster_rows(SD_UNITS)
    rows[2][ROSTER_DUE] = A_NEW_DUE
    rows[ROSTER_BAD_ROW - 1][column] = value
    return rows


def bad_due(value: object) -> Grid:
    return roster_grid(ROSTER_DUE, value)


ROSTER_ROWS = Expect(
    "row_errors",
    rows=(ROSTER_BAD_ROW,),
    applied=2,
    touched=(A.code,),
    grows={"rosterentry": 2, "rosteryear": 2},  # each row's figures are also its obligation's
)


def daily_grid(*bad_cells: tuple[int, object]) -> Grid:
    """A's new cancellation (row 2), then one row of B per (column, value) with that cell spoiled."""
    entries = [("2021-11-19 10:30", A.name, A.code, A_NEW_SERIAL, 10_000)]
    entries += [
        ("2021-11-19 11:00", B.name, B.code, 3_000_000 + 10_000 * n, 5_000) for n in range(len(bad_cells))
    ]
    rows = daily_rows(entries)
    for n, (column, value) in enumerate(bad_cells):
        rows[2 + n][column] = value
    return rows


def daily_expect(bad_rows: int) -> Expect:
    return Expect(
        "row_errors",
        rows=tuple(range(3, 3 + bad_rows)),
        applied=1,
        touched=(A.code,),
        grows={"cancellationrecord": 1},
    )


def weekly_grid(c_requested: object) -> Grid:
    """A's raised request, B restated, C's request spoiled (rows 4, 5, 6)."""
    entries = [(A, A_NEW_REQUEST, "已确认"), (B, 400_000, "待确认"), (C, 0, "待确认")]
    rows = weekly_rows(entries, WEEKLY_AS_OF)
    rows[5][WEEKLY_REQUESTED] = c_requested
    return rows


def without_columns(rows: Grid, *headers: str) -> Grid:
    header = next(row for row in rows if "序号" in row)
    drop = {header.index(h) for h in headers}
    return [[c for i, c in enumerate(row) if i not in drop] for row in rows]


# ---- messages ----------------------------------------------------------------------------------


def _message(
    sender: str,
    subject: str,
    when: str,
    attachments: Sequence[AttachmentSpec] = (),
    *,
    to: str = "bot@example.cn",
    **options: object,
) -> bytes:
    return build_message(
        sender=sender, to=to, subject=subject, date=at(when), attachments=attachments, **options
    )  # type: ignore[arg-type]


def _xlsx_message(sender: str, subject: str, when: str, rows: Grid, *, to: str = "bot@example.cn") -> bytes:
    return _message(sender, subject, when, [("表.xlsx", xlsx_bytes(rows), XLSX_TYPE)], to=to)


def roster_message(
    name: str,
    data: bytes,
    ctype: str | None = XLSX_TYPE,
    *,
    subject: str = ROSTER_SUBJECT,
    when: str = WHEN,
    **options: object,
) -> bytes:
    return _message(SD, subject, when, [(name, data, ctype)], **options)


def daily_message(name: str, data: bytes, ctype: str | None = "application/octet-stream") -> bytes:
    return _message(NCSC, daily_subject("山东省", "2021年11月19日"), WHEN, [(name, data, ctype)], to=SD)


def weekly_message(name: str, data: bytes, ctype: str | None = XLSX_TYPE) -> bytes:
    subject = weekly_subject("山东省", WEEKLY_AS_OF)
    return _message(SD, subject, "2021-11-19T16:30", [(name, data, ctype)], to=NCSC)


def good_roster_message(**options: object) -> bytes:
    """A roster with one bad row: the carrier for the damage done to the message around it."""
    return roster_message("名录.xlsx", xlsx_bytes(bad_due(-1)), **options)


def swap(data: bytes, old: bytes | re.Pattern[bytes], new: bytes, count: int = 1) -> bytes:
    """Replace exactly where the builder is known to have written `old`; fail loudly if it has not."""
    pattern = old if isinstance(old, re.Pattern) else re.compile(re.escape(old))
    changed, found = pattern.subn(lambda _: new, data, count=count)
    assert found, f"{pattern.pattern!r} not in the message"
    return changed


def header_block(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(CRLF + CRLF)
    return head, body


def with_header(raw: bytes, name: bytes, value: bytes | None) -> bytes:
    """The message with its header `name` (and its folded lines) replaced, or removed when value is None."""
    head, body = header_block(raw)
    line = re.compile(rb"^" + name + rb":[^\r]*(?:\r\n[ \t][^\r]*)*\r\n?", re.MULTILINE | re.IGNORECASE)
    head = swap(head + CRLF, line, b"" if value is None else name + b": " + value + CRLF)
    return head.removesuffix(CRLF) + CRLF + CRLF + body


def attachment_base64(raw: bytes) -> tuple[int, int]:
    """Start and end of the (last) attachment's base64 body."""
    start = raw.rindex(b"Content-Transfer-Encoding: base64\r\n\r\n") + len(
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    end = raw.index(b"\r\n--", start)
    return start, end


# ---- OOXML written by hand: bombs, huge and wide sheets ----------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
_EMPTY_STRINGS = f'<sst xmlns="{_MAIN}" count="0" uniqueCount="0"/>'.encode()
# Billion laughs: ten entities, each ten of the one before; &lol9; is 10^9 "lol"s (3 GB).
_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10) for n in range(1, 10))
    + b"]>"
)


def ooxml(
    sheet: Iterable[bytes],
    *,
    strings: bytes = _EMPTY_STRINGS,
    level: int = 6,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """A minimal .xlsx package; the sheet's XML is streamed into the archive, never held whole."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _ROOT_RELS)
        package.writestr("xl/workbook.xml", _WORKBOOK)
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        package.writestr("xl/sharedStrings.xml", strings)
        for name, data in (extra or {}).items():
            package.writestr(name, data)
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for chunk in sheet:
                member.write(chunk)
    return out.getvalue()


def worksheet(rows: Iterable[bytes], prolog: bytes = b"") -> Iterator[bytes]:
    yield prolog + f'<worksheet xmlns="{_MAIN}"><sheetData>'.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA, 16383 → XFD."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_xml(ref: str, value: object) -> bytes:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'.encode()
    if isinstance(value, float) and value != value:
        return f'<c r="{ref}"><v>NaN</v></c>'.encode()
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return f'<c r="{ref}"><v>{"INF" if value > 0 else "-INF"}</v></c>'.encode()
    return f'<c r="{ref}"><v>{value!r}</v></c>'.encode()


def rows_xml(rows: Sequence[Sequence[object]], first: int = 1) -> Iterator[bytes]:
    for number, row in enumerate(rows, start=first):
        cells = b"".join(
            cell_xml(f"{column_letters(c)}{number}", value)
            for c, value in enumerate(row)
            if value is not None
        )
        yield b'<row r="%d">%s</row>' % (number, cells)


def million_rows() -> Iterator[bytes]:
    """The roster's header, then 1,000,000 one-cell rows, written 10,000 rows at a time."""
    yield from rows_xml([roster_rows(SD_UNITS)[1]])
    for start in range(2, 1_000_002, 10_000):
        yield b"".join(
            b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(start, start + 10_000)
        )


# ---- zip surgery -------------------------------------------------------------------------------


def patched_headers(
    data: bytes, *, local: Callable[[bytearray, int], None], central: Callable[[bytearray, int], None]
) -> bytes:
    out = bytearray(data)
    for found in re.finditer(rb"PK\x03\x04", data):
        local(out, found.start())
    for found in re.finditer(rb"PK\x01\x02", data):
        central(out, found.start())
    return bytes(out)


def _set_flag(out: bytearray, at: int, offset: int) -> None:
    (flags,) = struct.unpack_from("<H", out, at + offset)
    struct.pack_into("<H", out, at + offset, flags | 0x1)


def streamed_zip(name: str, chunks: Iterable[bytes]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for chunk in chunks:
            member.write(chunk)
    return out.getvalue()


# ==== the corpus ================================================================================
# ---- damaged, locked and disguised files -------------------------------------------------------


@bad(quarantined("附件不完整"))
def truncated_xlsx() -> bytes:
    data = xlsx_bytes(bad_due(-1))
    return roster_message("名录.xlsx", data[: len(data) // 2])


@bad(quarantined("不是有效的 .xls 文件"))
def truncated_xls() -> bytes:
    data = xls_bytes(bad_due(-1))
    return roster_message("名录.xls", data[: len(data) // 2], XLS_TYPE)


@bad(quarantined("附件不完整"))
def truncated_zip() -> bytes:
    data = zip_bytes({"注销记录.xlsx": xlsx_bytes(daily_grid())}, gbk_names=True)
    return daily_message("注销记录.zip", data[: len(data) * 2 // 3], "application/zip")


@bad(quarantined("附件已加密"))
def encrypted_ooxml() -> bytes:
    return roster_message("名录.xlsx", encrypted_xlsx_bytes())


@bad(quarantined("附件已加密"))
def password_protected_xls() -> bytes:
    return roster_message("名录.xls", encrypted_xls_bytes(bad_due(-1)), XLS_TYPE)


@bad(quarantined("附件已加密"))
def encrypted_zip_member() -> bytes:
    plain = zip_bytes({"注销记录.csv": csv_bytes(daily_grid())})
    locked = patched_headers(
        plain, local=lambda o, at: _set_flag(o, at, 6), central=lambda o, at: _set_flag(o, at, 8)
    )
    return daily_message("注销记录.zip", locked, "application/zip")


@bad(quarantined("不是表格文件"))
def binary_garbage_named_xlsx() -> bytes:
    return roster_message("名录.xlsx", noise(40_000, "garbage"))


@bad(quarantined("不是表格文件"))
def empty_attachment() -> bytes:
    return roster_message("名录.xlsx", b"")


@bad(quarantined(".xlsb"))
def xlsb_package() -> bytes:
    data = ooxml(worksheet(rows_xml(bad_due(-1))), extra={"xl/worksheets/sheet2.bin": noise(2000)})
    return roster_message("名录.xlsx", data)


@bad(quarantined("压缩包内没有表格文件"))
def zip_without_spreadsheet() -> bytes:
    data = zip_bytes(
        {"说明.txt": "请查收。".encode("gb18030"), "扫描件.pdf": b"%PDF-1.4\n" + noise(3000)}, gbk_names=True
    )
    return daily_message("注销记录.zip", data, "application/zip")


# ---- archives that expand too far --------------------------------------------------------------


@bad(quarantined("压缩包展开后过大", heavy=True))
def zip_bomb() -> bytes:
    """A .zip whose one CSV expands from about 200 kB to 200 MiB of zeros."""
    zeros = b"0" * MiB
    data = streamed_zip("注销记录.csv", [b"a,b\r\n", *(zeros for _ in range(200))])
    return daily_message("注销记录.zip", data, "application/zip")


@bad(quarantined("附件已损坏"))
def zip_lying_sizes() -> bytes:
    """Its headers declare 1 kB; the member expands to 20 MiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("注销记录.csv", b"a,b\r\n" + b"0" * 20 * MiB)
    lying = patched_headers(
        out.getvalue(),
        local=lambda o, at: struct.pack_into("<I", o, at + 22, 1000),
        central=lambda o, at: struct.pack_into("<I", o, at + 24, 1000),
    )
    return daily_message("注销记录.zip", lying, "application/zip")


@bad(quarantined("多层压缩"))
def nested_zip() -> bytes:
    inner = zip_bytes({"注销记录.xlsx": xlsx_bytes(daily_grid())})
    return daily_message("注销记录.zip", zip_bytes({"内层.zip": inner}), "application/zip")


@bad(quarantined("文件过多"))
def zip_with_1000_members() -> bytes:
    members = {f"注销记录{n:04d}.csv": csv_bytes(daily_grid()) for n in range(1000)}
    return daily_message("注销记录.zip", zip_bytes(members), "application/zip")


@bad(quarantined("压缩包展开后过大", heavy=True))
def xlsx_sheet_expanding_past_budget() -> bytes:
    """A sheet that is 120 MiB of white space after its first row: 120 kB compressed."""
    blanks = b" " * MiB
    sheet = worksheet(iter([*rows_xml(bad_due(-1)), *(blanks for _ in range(120))]))
    return roster_message("名录.xlsx", ooxml(sheet, level=9))


@bad(quarantined("不是有效的 .xlsx", heavy=True))
def xml_bomb_in_sheet() -> bytes:
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return roster_message("名录.xlsx", ooxml(worksheet([row], prolog=_LAUGHS)))


@bad(quarantined("不是有效的 .xlsx", heavy=True))
def xml_bomb_in_shared_strings() -> bytes:
    strings = (
        _LAUGHS + f'<sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'.encode()
    )
    row = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>0</v></c></row>'
    return roster_message("名录.xlsx", ooxml(worksheet([row]), strings=strings))


@bad(quarantined("不是有效的 .xlsx"))
def xml_external_entity() -> bytes:
    strings = (
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + f'<sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>&xxe;</t></si></sst>'.encode()
    )
    row = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1</v></c></row>'
    return roster_message("名录.xlsx", ooxml(worksheet([row]), strings=strings))


# ---- too many rows, too many columns -----------------------------------------------------------


@bad(quarantined("行数超过", heavy=True))
def sheet_of_a_million_rows() -> bytes:
    return roster_message("名录.xlsx", ooxml(worksheet(million_rows()), level=1))


@bad(quarantined("表格范围过大", heavy=True))
def sheet_with_a_cell_at_xfd1048576() -> bytes:
    corner = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return roster_message("名录.xlsx", ooxml(worksheet([*rows_xml(bad_due(-1)), corner])))


@bad(ROSTER_ROWS)
def sheet_of_16384_columns() -> bytes:
    """Every row is read 16,384 cells wide: a note sits in column XFD of the header row."""
    rows = bad_due(-1)
    rows[1] = [*rows[1], *([None] * (16_383 - len(rows[1]))), "附注（本列为填表人误填）"]
    return roster_message("名录.xlsx", ooxml(worksheet(rows_xml(rows))))


@bad(quarantined("行数超过", heavy=True))
def csv_of_a_million_rows() -> bytes:
    head = csv_bytes(daily_grid(), "utf-8")
    return daily_message("注销记录.csv", head + b"1,2\r\n" * 1_000_000)


@bad(quarantined("附件超过 20 MB", heavy=True))
def attachment_over_20_mb() -> bytes:
    head = csv_bytes(daily_grid(), "utf-8")
    return daily_message("注销记录.csv", head + b" " * (21 * MiB))


# ---- text in a charset we do not read ----------------------------------------------------------


@bad(quarantined("没有可识别"))
def csv_in_shift_jis() -> bytes:
    text = csv_bytes(daily_grid(), "utf-8").decode("utf-8")
    return daily_message("注销记录.csv", text.encode("shift_jis", "replace"), "text/csv; charset=shift_jis")


@bad(quarantined("无法读取"))
def csv_in_utf16_without_bom() -> bytes:
    return daily_message("注销记录.csv", csv_bytes(daily_grid(), "utf-16-le"), "text/csv")


@bad(quarantined("没有可识别"))
def html_body_without_a_table() -> bytes:
    html = "<html><body><p>各位好：</p><p>名录请见附件（附件稍后补发）。</p></body></html>"
    return _message(SD, ROSTER_SUBJECT, WHEN, html_body=html)


# ---- wrong or missing columns ------------------------------------------------------------------


@bad(quarantined("没有可识别"))
def roster_without_amount_column() -> bytes:
    rows = without_columns(bad_due(-1), "2019-2020年度应清缴配额量（吨）")
    return roster_message("名录.xlsx", xlsx_bytes(rows))


@bad(quarantined("没有可识别"))
def roster_without_name_and_code_columns() -> bytes:
    rows = without_columns(bad_due(-1), "重点排放单位名称", "统一社会信用代码")
    return roster_message("名录.xlsx", xlsx_bytes(rows))


@bad(Expect("row_errors", rows=(2, 3), applied=0))
def daily_without_amount_column() -> bytes:
    rows = without_columns(daily_grid((DAILY_QUANTITY, 5_000)), "注销数量（吨）")
    return daily_message("注销记录.xlsx", xlsx_bytes(rows), XLSX_TYPE)


@bad(Expect("row_errors", rows=(2, 3), applied=0))
def daily_without_holder_columns() -> bytes:
    rows = without_columns(daily_grid((DAILY_QUANTITY, 5_000)), "账户名称", "统一社会信用代码")
    return daily_message("注销记录.xlsx", xlsx_bytes(rows), XLSX_TYPE)


@bad(Expect("row_errors", rows=(2,), applied=0))
def forwarded_list_of_another_provinces_units() -> bytes:
    """Shandong's officer forwards NCSC's list for Guangdong: its one row is not Shandong's to apply."""
    rows = daily_rows([("2021-11-19 10:30", G1.name, G1.code, 4_000_000, 5_000)])
    inner = _xlsx_message(NCSC, daily_subject("广东省", "2021年11月19日"), "2021-11-19T17:40", rows, to=GD)
    subject = "转发：全国碳市场重点排放单位CCER注销记录"
    return forward_message(inner, by=SD, to="bot@example.cn", subject=subject, date=at(WHEN))


# A weekly summary is a full snapshot: a summary whose rows are all refused must leave every
# application as it was (it tells nothing new), so the snapshot tables are not counted here.
@bad(Expect("row_errors", rows=(4, 5, 6), applied=0, loose=("weeklysnapshot", "applicationline")))
def weekly_without_name_and_code_columns() -> bytes:
    rows = without_columns(weekly_grid(0), "重点排放单位名称", "统一社会信用代码")
    return weekly_message("汇总表.xlsx", xlsx_bytes(rows))


@bad(Expect("quarantined", reason="没有申请抵销量列"))
def weekly_without_requested_column() -> bytes:
    rows = without_columns(weekly_grid(0), "申请抵销量（吨）")
    return weekly_message("汇总表.xlsx", xlsx_bytes(rows))


# ---- amounts -----------------------------------------------------------------------------------


@bad(ROSTER_ROWS)
def roster_negative_amount() -> bytes:
    return roster_message("名录.xlsx", xlsx_bytes(bad_due(-2_000_000)))


@bad(ROSTER_ROWS)
def roster_accountants_negative_amount() -> bytes:
    return roster_message("名录.xlsx", xlsx_bytes(bad_due("(2,000,000)")))


@bad(ROSTER_ROWS)
def roster_non_numeric_amount() -> bytes:
    return roster_message("名录.xlsx", xlsx_bytes(bad_due("约两百万吨")))


@bad(ROSTER_ROWS)
def roster_fractional_tonnes() -> bytes:
    return roster_message("名录.xlsx", xlsx_bytes(bad_due("2000000.5")))


@bad(ROSTER_ROWS)
def xls_roster_with_text_amount() -> bytes:
    return roster_message("名录.xls", xls_bytes(bad_due("N/A")), XLS_TYPE)


@bad(ROSTER_ROWS)
def roster_unknown_status_word() -> bytes:
    return roster_message("名录.xlsx", xlsx_bytes(roster_grid(ROSTER_STATUS, "基本完成")))


@bad(ROSTER_ROWS)
def roster_wrong_check_character() -> bytes:
    wrong = C.code[:-1] + ("0" if C.code[-1] != "0" else "1")
    return roster_message("名录.xlsx", xlsx_bytes(roster_grid(ROSTER_CODE, wrong)))


@bad(daily_expect(1))
def daily_negative_amount() -> bytes:
    return daily_message("注销记录.csv", csv_bytes(daily_grid((DAILY_QUANTITY, "-5000")), "gbk"))


@bad(daily_expect(4))
def daily_nan_and_infinity_as_text() -> bytes:
    spoiled = [(DAILY_QUANTITY, v) for v in ("NaN", "∞", "inf", "1e20")]
    return daily_message("注销记录.csv", csv_bytes(daily_grid(*spoiled), "gbk"))


@bad(daily_expect(3))
def daily_nan_and_infinity_as_numbers() -> bytes:
    spoiled = [(DAILY_QUANTITY, v) for v in (float("nan"), float("inf"), float("-inf"))]
    return daily_message("注销记录.xlsx", ooxml(worksheet(rows_xml(daily_grid(*spoiled)))), XLSX_TYPE)


@bad(daily_expect(2))
def daily_absurd_amounts() -> bytes:
    """10^20 tonnes: more than all the carbon there is, and more than a 64-bit column holds."""
    spoiled = [(DAILY_QUANTITY, 1e20), (DAILY_QUANTITY, "100000000000000000000")]
    return daily_message("注销记录.xlsx", xlsx_bytes(daily_grid(*spoiled)), XLSX_TYPE)


@bad(daily_expect(1))
def daily_huge_amount_in_ten_thousand_tonnes() -> bytes:
    rows = daily_grid((DAILY_QUANTITY, "1000000000000000000000000"))
    rows[0][DAILY_QUANTITY] = "注销数量（万吨）"
    rows[1][DAILY_QUANTITY] = "1"  # A: 10,000 t
    return daily_message("注销记录.csv", csv_bytes(rows, "gbk"))


# ---- dates -------------------------------------------------------------------------------------


@bad(daily_expect(2))
def daily_dates_outside_the_cycle() -> bytes:
    spoiled = [(DAILY_WHEN, "1900-01-01"), (DAILY_WHEN, "2099-12-31 10:00")]
    return daily_message("注销记录.xlsx", xlsx_bytes(daily_grid(*spoiled)), XLSX_TYPE)


@bad(daily_expect(2))
def daily_excel_serial_dates_as_text() -> bytes:
    spoiled = [(DAILY_WHEN, "44519"), (DAILY_WHEN, "44519.4375")]
    return daily_message("注销记录.csv", csv_bytes(daily_grid(*spoiled), "utf-8-sig"))


# ---- weekly summaries --------------------------------------------------------------------------

WEEKLY_ROWS = Expect(
    "row_errors", rows=(6,), applied=2, touched=(A.code,), grows={"weeklysnapshot": 1, "applicationline": 2}
)


@bad(WEEKLY_ROWS)
def weekly_bad_row_of_a_unit_without_application() -> bytes:
    return weekly_message("汇总表.xlsx", xlsx_bytes(weekly_grid("-3000")))


@bad(
    Expect(
        "row_errors",
        rows=(5,),
        applied=1,
        touched=(A.code,),
        grows={"weeklysnapshot": 1},
        loose=("applicationline",),
    )
)
def weekly_bad_row_of_a_unit_with_an_application() -> bytes:
    """B applied for 400,000 t in the seeded summary; this one's row for B is refused."""
    rows = weekly_rows([(A, A_NEW_REQUEST, "已确认"), (B, 400_000, "待确认")], WEEKLY_AS_OF)
    rows[4][WEEKLY_REQUESTED] = "四十万"
    return weekly_message("汇总表.xlsx", xlsx_bytes(rows))


# ---- the message around the table -------------------------------------------------------------


@bad(quarantined("邮件为空"))
def message_of_zero_bytes() -> bytes:
    return b""


@bad(quarantined("没有邮件头"))
def binary_noise_as_a_message() -> bytes:
    return noise(5000, "not mail")


@bad(quarantined("没有可识别"))
def message_of_headers_only() -> bytes:
    head, _ = header_block(good_roster_message())
    return head + CRLF + CRLF


@bad(quarantined("无发件人"))
def message_without_from() -> bytes:
    return with_header(good_roster_message(), b"From", None)


@bad(quarantined("无发件人"))
def from_with_display_name_only() -> bytes:
    name = base64.b64encode("山东省生态环境厅应对气候变化处".encode()).decode()
    return with_header(good_roster_message(), b"From", f"=?utf-8?B?{name}?=".encode())


@bad(ROSTER_ROWS)
def date_far_in_the_future() -> bytes:
    return good_roster_message(when="2099-11-20T10:00")


@bad(ROSTER_ROWS)
def date_at_the_epoch_from_a_dead_clock() -> bytes:
    return with_header(good_roster_message(), b"Date", b"Thu, 01 Jan 1970 08:00:00 +0800")


@bad(ROSTER_ROWS)
def date_at_the_end_of_time() -> bytes:
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    return with_header(good_roster_message(), b"Date", format_datetime(end).encode())


@bad(ROSTER_ROWS)
def date_in_year_one() -> bytes:
    return with_header(good_roster_message(), b"Date", b"0001-01-01")


@bad(quarantined("邮件头超过"))  # a header is capped before anything reads it
def subject_of_one_megabyte() -> bytes:
    filler = "（附件为更新后的名录，请查收，如有疑问请联系应对气候变化处。）"
    subject = ROSTER_SUBJECT + filler * (MiB // len(filler.encode()))
    return good_roster_message(subject=subject, subject_charset="raw-utf-8")


@bad(quarantined("邮件头超过"))  # the header block is capped before anything reads it
def ten_thousand_header_lines() -> bytes:
    received = b"".join(
        b"Received: from relay%d.example.cn by mx.example.cn; Sat, 20 Nov 2021 10:00:%02d +0800\r\n"
        % (n, n % 60)
        for n in range(10_000)
    )
    return received + good_roster_message()


@bad(quarantined("没有可识别"))
def multipart_without_boundary() -> bytes:
    raw = good_roster_message()
    return swap(raw, re.compile(rb'multipart/mixed; boundary="[^"]+"'), b"multipart/mixed")


@bad(quarantined("附件不完整"))
def multipart_cut_in_the_middle() -> bytes:
    raw = good_roster_message()
    start, end = attachment_base64(raw)
    return raw[: (start + end) // 2]


@bad(quarantined("不是表格文件"))
def base64_garbage() -> bytes:
    raw = good_roster_message()
    start, end = attachment_base64(raw)
    return raw[:start] + b"!!!! this is @@ not base64 ### \xff\xfe\r\n%%%%====\r\n" * 40 + raw[end:]


@bad(quarantined("不是表格文件"))
def transfer_encoding_that_lies() -> bytes:
    """The part says 7bit; its body is base64 all the same."""
    raw = good_roster_message()
    start, _ = attachment_base64(raw)
    head = swap(
        raw[:start],
        re.compile(rb"Content-Transfer-Encoding: base64\r\n\r\n$"),
        b"Content-Transfer-Encoding: 7bit\r\n\r\n",
    )
    return head + raw[start:]


@bad(quarantined("邮件无法解析"))
def multipart_nested_3000_deep() -> bytes:
    head, body = header_block(good_roster_message())
    outer = re.search(rb'boundary="([^"]+)"', head)
    assert outer is not None
    inner = b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n%s' % (outer.group(1), body)
    for depth in range(3000):
        inner = b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n%s\r\n--n%d--\r\n' % (
            depth,
            depth,
            inner,
            depth,
        )
    kept = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-type"))
    return kept + b"\r\n" + inner


@bad(quarantined(""))
def forwarded_part_marked_base64_holding_8bit_text() -> bytes:
    """A message/rfc822 part that says base64 and holds raw 8-bit text instead."""
    head, _ = header_block(good_roster_message())
    kept = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-type"))
    return kept + (
        b'\r\nContent-Type: multipart/mixed; boundary="fwd"\r\n\r\n--fwd\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + "转发的邮件见附件。".encode()
        + b"\r\n--fwd\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + "山东省2019-2020年度重点排放单位名录，请查收。".encode()
        + b"\r\n--fwd--\r\n"
    )


# ---- charsets that lie -------------------------------------------------------------------------


@bad(ROSTER_ROWS)
def subject_labelled_gb2312_in_utf8() -> bytes:
    word = base64.b64encode(ROSTER_SUBJECT.encode("utf-8")).decode()
    return with_header(good_roster_message(), b"Subject", f"=?gb2312?B?{word}?=".encode())


@bad(ROSTER_ROWS)
def subject_labelled_utf8_in_gbk() -> bytes:
    word = base64.b64encode(ROSTER_SUBJECT.encode("gbk")).decode()
    return with_header(good_roster_message(), b"Subject", f"=?utf-8?B?{word}?=".encode())


def _html_roster(data: bytes, charset: str) -> bytes:
    raw = _message(SD, ROSTER_SUBJECT, WHEN, html_body="PLACEHOLDER")
    body = base64.encodebytes(b"PLACEHOLDER").replace(b"\n", CRLF)
    raw = swap(raw, body, base64.encodebytes(data).replace(b"\n", CRLF))
    return swap(raw, b'text/html; charset="gb2312"', f'text/html; charset="{charset}"'.encode())


@bad(ROSTER_ROWS)
def html_body_labelled_gb2312_in_utf8() -> bytes:
    return _html_roster(html_table(bad_due(-1)).encode("utf-8"), "gb2312")


@bad(ROSTER_ROWS)
def html_body_labelled_utf8_in_gbk() -> bytes:
    return _html_roster(html_table(bad_due(-1)).encode("gbk"), "utf-8")


@bad(ROSTER_ROWS)
def filename_labelled_utf8_in_gbk() -> bytes:
    raw = good_roster_message()
    name = quote_from_bytes("山东省名录.xlsx".encode("gbk"), safe="").encode()
    disposition = re.compile(rb"Content-Disposition: attachment;[^\r]*(?:\r\n [^\r]*)*")
    return swap(raw, disposition, b"Content-Disposition: attachment; filename*=utf-8''" + name)
