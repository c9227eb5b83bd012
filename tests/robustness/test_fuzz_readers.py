"""Fuzzing the readers: whatever bytes arrive, `read_tables` gives tables or says TableUnreadable, and
`walk` gives a Walked or says MailUnreadable; never any other exception, and always a reason in Chinese.

Damage is done at three depths: to the file's bytes (flips, cuts, splices of two files), to the parts
inside a container (the XML of an .xlsx, the BIFF stream of an .xls, re-packed so that the parser and
not the checksum meets the damage), and to the lines of a message.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail.mime import MailUnreadable, Walked, walk
from mail.tables import Limits, Table, TableUnreadable, read_tables, tables_from_html
from tests.intake.world import (
    GD,
    GD_UNITS,
    NCSC,
    SD,
    SD_UNITS,
    at,
    daily_rows,
    roster_rows,
    weekly_rows,
)
from tests.mail.corpus import (
    XLSX_TYPE,
    build_message,
    compound_file,
    csv_bytes,
    html_table,
    rewrite_zip,
    workbook_stream,
    xls_bytes,
    xlsx_bytes,
    zip_bytes,
)
from tests.robustness.corpus_bad import ooxml, rows_xml, worksheet

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "mail"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_PYTHON_TEXT = re.compile(r"Traceback|[A-Z][A-Za-z]*(?:Error|Exception)\b|<[\w.]+ object|\bb'")

A, B, C = SD_UNITS
G1, _ = GD_UNITS
DAILY = daily_rows(
    [
        ("2021-11-15 10:30", A.name, A.code, 1_000, 120_000),
        ("2021-11-15 11:00", B.name.lower(), None, 200_000, 5_000),
        ("2021-11-16", G1.name, G1.code, 300_000, 7_500),
    ]
)
WEEKLY = weekly_rows([(A, 150_000, "已确认"), (B, 400_000, "待确认")], "2021年11月5日")
WEEKLY_DATED = [[*row[:-1], date(2021, 11, 3)] if n == 3 else row for n, row in enumerate(WEEKLY)]
ROSTER = roster_rows(SD_UNITS)
TEXT_ROWS = [["" if v is None else str(v) for v in row] for row in DAILY]

VALID: dict[str, bytes] = {
    "xlsx": xlsx_bytes(WEEKLY_DATED, merged=["A5:A6"]),
    "xlsx-wps": xlsx_bytes(ROSTER, wps_dimension=True, more_sheets={"隐藏": DAILY}, hidden=["隐藏"]),
    "xlsx-hand": ooxml(worksheet(rows_xml(DAILY))),
    "xls": xls_bytes(WEEKLY_DATED, merged=["A5:A6"]),
    "xls-wps": xls_bytes(ROSTER, wps_irregular=True),
    "csv-utf8": csv_bytes(TEXT_ROWS, "utf-8-sig"),
    "csv-gbk": csv_bytes(TEXT_ROWS, "gbk", delimiter="\t"),
    "csv-utf16": csv_bytes(TEXT_ROWS, "utf-16"),
    "html": ('<meta charset="gbk">' + html_table(TEXT_ROWS, spans={(1, 2): (2, 1)})).encode("gbk"),
    "zip": zip_bytes({"注销记录.xlsx": xlsx_bytes(DAILY), "说明.csv": csv_bytes(TEXT_ROWS)}, gbk_names=True),
}
KINDS = sorted(VALID)
NAMES = [None, "表.xlsx", "表.xls", "表.csv", "表.zip", "表.html", "表.txt", "表"]
TYPES = [
    None,
    XLSX_TYPE,
    "application/vnd.ms-excel",
    "text/csv",
    "application/zip",
    "application/octet-stream",
]
SMALL = Limits(max_bytes=64 * 1024, max_rows=20, max_zip_members=3, max_cells=2_000, zip_ratio_floor=1024)
LIMITS = st.sampled_from([Limits(), SMALL])

# ---- byte-level damage -------------------------------------------------------------------------

Op = tuple[str, float, float, bytes, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["flip", "overwrite", "delete", "insert", "duplicate", "splice", "truncate"]),
        st.floats(0, 1),
        st.floats(0, 1),
        st.binary(min_size=1, max_size=24),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=5,
)


def mutate(data: bytes, damage: Sequence[Op], donors: Sequence[bytes] = ()) -> bytes:
    out = bytearray(data)
    for op, where, span, junk, pick in damage:
        pos = int(where * len(out))
        length = 1 + int(span * min(len(out), 512))
        if op == "flip" and out:
            out[min(pos, len(out) - 1)] ^= 1 << (pick % 8)
        elif op == "overwrite":
            out[pos : pos + len(junk)] = junk
        elif op == "delete":
            del out[pos : pos + length]
        elif op == "insert":
            out[pos:pos] = junk
        elif op == "duplicate":
            out[pos:pos] = out[pos : pos + length]
        elif op == "splice" and donors:
            donor = donors[pick % len(donors)]
            cut = int(span * len(donor))
            out[pos:] = donor[cut:]
        elif op == "truncate":
            del out[pos:]
    return bytes(out)


# ---- what a reader may give back ---------------------------------------------------------------


def assert_refusal(reason: str) -> None:
    assert reason and _CJK.search(reason), f"not a reason in Chinese: {reason!r}"
    assert not _PYTHON_TEXT.search(reason), f"Python text in the reason: {reason!r}"


def assert_tables(tables: list[Table], limits: Limits) -> None:
    """What Table promises: rectangular rows of plain cells, no trailing empty row, within the limits."""
    assert isinstance(tables, list)
    for table in tables:
        assert isinstance(table, Table) and isinstance(table.name, str)
        assert table.rows and len(table.rows) <= limits.max_rows
        width = len(table.rows[0])
        assert width and all(len(row) == width for row in table.rows)
        assert len(table.rows) * width <= limits.max_cells
        assert any(cell is not None for cell in table.rows[-1])
        for row in table.rows:
            for cell in row:
                assert cell is None or isinstance(cell, str | int | float | datetime | date), repr(cell)
                assert cell != "", "an empty cell must be None"
                assert not isinstance(cell, bool)


def read_or_refuse(data: bytes, name: str | None, ctype: str | None, limits: Limits) -> None:
    try:
        tables = read_tables(data, name, ctype, limits)
    except TableUnreadable as refused:
        assert_refusal(refused.reason)
        return
    assert_tables(tables, limits)


# ---- the tests ---------------------------------------------------------------------------------


def test_every_valid_file_reads() -> None:
    for kind, data in VALID.items():
        tables = read_tables(data, None, None)
        assert tables, kind
        assert_tables(tables, Limits())


@FUZZ
@given(
    head=st.sampled_from(
        [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<table><tr><td>", b"\xff\xfe"]
    ),
    body=st.binary(max_size=4096),
    name=st.sampled_from(NAMES),
    ctype=st.sampled_from(TYPES),
    limits=LIMITS,
)
def test_random_bytes(head: bytes, body: bytes, name: str | None, ctype: str | None, limits: Limits) -> None:
    read_or_refuse(head + body, name, ctype, limits)


@FUZZ
@given(kind=st.sampled_from(KINDS), damage=ops, name=st.sampled_from(NAMES), limits=LIMITS)
def test_damaged_files(kind: str, damage: list[Op], name: str | None, limits: Limits) -> None:
    read_or_refuse(mutate(VALID[kind], damage, [VALID[k] for k in KINDS]), name, None, limits)


def _members(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [info.filename for info in package.infolist()]


XLSX_PARTS = [
    (kind, member) for kind in ("xlsx", "xlsx-wps", "xlsx-hand") for member in _members(VALID[kind])
]
XML_JUNK = [
    b'<c r="XFD1048576"><v>1</v></c>',
    b'<c r="A1" t="s"><v>99999</v></c>',
    b'<c r="B2" t="d"><v>not a date</v></c>',
    b'<c r="C3" t="n"><v>1e400</v></c>',
    b'<mergeCell ref="A1:XFD1048576"/>',
    b'<dimension ref="A1:ZZZ99999999"/>',
    b"<row>",
    b"</sheetData>",
    b"&amp;&#0;&#xFFFF;",
    b"<![CDATA[",
    b'<!DOCTYPE x [<!ENTITY e "e">]>',
]


@FUZZ
@given(
    part=st.sampled_from(XLSX_PARTS),
    damage=ops,
    junk=st.lists(st.tuples(st.sampled_from(XML_JUNK), st.floats(0, 1)), max_size=3),
    limits=LIMITS,
)
def test_damaged_parts_inside_an_xlsx(
    part: tuple[str, str], damage: list[Op], junk: list[tuple[bytes, float]], limits: Limits
) -> None:
    kind, member = part

    def spoil(name: str, body: bytes) -> bytes:
        if name != member:
            return body
        body = mutate(body, damage)
        for text, where in junk:
            at = int(where * len(body))
            body = body[:at] + text + body[at:]
        return body

    read_or_refuse(rewrite_zip(VALID[kind], spoil), "表.xlsx", XLSX_TYPE, limits)


XLS_STREAMS = [workbook_stream(xls_bytes(rows)) for rows in (WEEKLY_DATED, ROSTER, DAILY)]


@FUZZ
@given(index=st.integers(0, len(XLS_STREAMS) - 1), damage=ops, wps=st.booleans(), limits=LIMITS)
def test_damaged_workbook_stream_inside_an_xls(
    index: int, damage: list[Op], wps: bool, limits: Limits
) -> None:
    stream = mutate(XLS_STREAMS[index], damage)
    read_or_refuse(compound_file([("Workbook", stream)], overlap_root=wps), "表.xls", None, limits)


@FUZZ
@given(
    members=st.lists(
        st.tuples(
            st.sampled_from(["a.xlsx", "b.csv", "c.xls", "readme.txt", "__MACOSX/._a.xlsx", "d/", "e.zip"]),
            st.sampled_from(KINDS),
            ops,
        ),
        max_size=5,
    ),
    limits=LIMITS,
)
def test_zips_of_damaged_files(members: list[tuple[str, str, list[Op]]], limits: Limits) -> None:
    archive = zip_bytes({name: mutate(VALID[kind], damage) for name, kind, damage in members})
    read_or_refuse(archive, "表.zip", "application/zip", limits)


HTML_TOKENS = [
    "<table>",
    "</table>",
    "<tr>",
    "</tr>",
    "<td>",
    "</td>",
    "<th>",
    '<td colspan="3">',
    '<td rowspan="0">',
    '<td rowspan="99999" colspan="999">',
    '<td colspan="-1">',
    "<caption>",
    "</caption>",
    "<script>",
    "</script>",
    "<style>",
    "<!--",
    "-->",
    "&nbsp;",
    "&#0;",
    "\u3000",
    "账户名称",
    "注销数量（吨）",
    "1,234",
    "合计",
    "<br>",
    "\n",
]


@FUZZ
@given(
    tokens=st.lists(st.sampled_from(HTML_TOKENS) | st.text(max_size=8), max_size=80),
    limits=LIMITS,
)
def test_html_soup(tokens: list[str], limits: Limits) -> None:
    try:
        tables = tables_from_html("".join(tokens), limits)
    except TableUnreadable as refused:
        assert_refusal(refused.reason)
        return
    assert_tables(tables, limits)


# ---- messages ----------------------------------------------------------------------------------


def _messages() -> list[bytes]:
    built = [
        build_message(
            sender=SD,
            to=NCSC,
            cc=[GD],
            subject="山东省CCER抵销配额清缴申请汇总表（截至2021年11月5日）",
            date=at("2021-11-05T16:30"),
            attachments=[("汇总表.xlsx", VALID["xlsx"], XLSX_TYPE), ("说明.zip", VALID["zip"], None)],
            subject_charset="gb2312",
            filename_style="rfc2231-gbk",
        ),
        build_message(
            sender=NCSC,
            to=SD,
            subject="全国碳市场重点排放单位CCER注销记录",
            date=at("2021-11-15T17:40"),
            html_body=html_table(TEXT_ROWS),
            filename_style="raw-gbk",
            forwarded_by=GD,
        ),
    ]
    found = sorted(SAMPLES.glob("*.eml"))[:12] if SAMPLES.is_dir() else []
    return built + [path.read_bytes() for path in found]


MESSAGES = _messages()
LINE_OPS = st.lists(
    st.tuples(
        st.sampled_from(["drop", "double", "swap", "junk-header", "bare-lf", "nul", "cut"]),
        st.floats(0, 1),
        st.floats(0, 1),
    ),
    min_size=1,
    max_size=6,
)
JUNK_HEADERS = [
    b"Content-Type: multipart/mixed",
    b'Content-Type: multipart/mixed; boundary=""',
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: x-uuencode",
    b"From: =?gb2312?B?!!!?= <>",
    b"Date: Feb 30 2021 25:61:61 +9999",
    b"Subject: =?unknown-8bit?Q?=FF=FE?=",
    b"Content-Disposition: attachment; filename*0*=gbk''%D6; filename*2*=%D0",
    b"Content-Type: message/rfc822",
    b"--",
    b"",
]


def mutate_lines(raw: bytes, damage: list[tuple[str, float, float]]) -> bytes:
    lines = raw.split(b"\r\n")
    for op, where, other in damage:
        pos = min(int(where * len(lines)), len(lines) - 1)
        if op == "drop" and len(lines) > 1:
            del lines[pos]
        elif op == "double":
            lines.insert(pos, lines[pos])
        elif op == "swap":
            to = min(int(other * len(lines)), len(lines) - 1)
            lines[pos], lines[to] = lines[to], lines[pos]
        elif op == "junk-header":
            lines.insert(pos, JUNK_HEADERS[int(other * (len(JUNK_HEADERS) - 1))])
        elif op == "bare-lf":
            lines[pos] = lines[pos] + b"\n"
        elif op == "nul":
            lines[pos] = (
                lines[pos][: int(other * len(lines[pos]))]
                + b"\0"
                + lines[pos][int(other * len(lines[pos])) :]
            )
        elif op == "cut":
            del lines[pos + 1 :]
    return b"\r\n".join(lines)


def walk_or_refuse(raw: bytes) -> None:
    try:
        walked = walk(raw)
    except MailUnreadable as refused:
        assert_refusal(refused.reason)
        return
    assert isinstance(walked, Walked)
    envelope = walked.envelope
    assert envelope.sender is None or (envelope.sender == envelope.sender.lower() and "@" in envelope.sender)
    assert envelope.date is None or envelope.date.tzinfo is not None
    assert isinstance(envelope.subject, str) and "\n" not in envelope.subject
    assert all(isinstance(a.data, bytes) and isinstance(a.content_type, str) for a in walked.attachments)
    assert all(isinstance(text, str) for text in walked.html_bodies)


@FUZZ
@given(index=st.integers(0, len(MESSAGES) - 1), damage=ops)
def test_damaged_message_bytes(index: int, damage: list[Op]) -> None:
    walk_or_refuse(mutate(MESSAGES[index], damage, MESSAGES))


@FUZZ
@given(index=st.integers(0, len(MESSAGES) - 1), damage=LINE_OPS)
def test_damaged_message_lines(index: int, damage: list[tuple[str, float, float]]) -> None:
    walk_or_refuse(mutate_lines(MESSAGES[index], damage))


def test_a_base64_message_part_holding_8bit_text_is_refused() -> None:
    raw = (
        "From: ccer@sthj.shandong.example\r\nSubject: 转发：山东省名录\r\n"
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "山东省2019-2020年度重点排放单位名录，请查收。\r\n"
    ).encode()
    walk_or_refuse(raw)


@FUZZ
@given(raw=st.binary(max_size=2048))
def test_random_bytes_as_a_message(raw: bytes) -> None:
    walk_or_refuse(raw)
