"""Properties: any text survives any way mailers encode it in headers and attachment names."""

from __future__ import annotations

import base64
import quopri
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from mail.decode import decode_header_value
from mail.mime import MailUnreadable, walk
from tests.mail.corpus import FILENAME_STYLES, build_message

CHARSETS = {"utf-8": "utf-8", "gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030"}
# Printable text as a header carries it: no controls, no line or paragraph separators, single spaces.
text = (
    st.text(
        alphabet=st.characters(codec="gb18030", exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Zs")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


def word(charset: str, data: bytes, q: bool) -> str:
    if q:
        body = quopri.encodestring(data, header=True).decode().replace("=\n", "")
        return f"=?{charset}?Q?{body.replace('?', '=3F').replace(' ', '_')}?="
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


@settings(max_examples=200, deadline=None)
@given(
    value=text,
    charset=st.sampled_from(sorted(CHARSETS)),
    cuts=st.lists(st.integers(1, 60), max_size=5),
    q=st.booleans(),
)
def test_encoded_words_cut_anywhere_decode_to_the_text(
    value: str, charset: str, cuts: list[int], q: bool
) -> None:
    data = value.encode(CHARSETS[charset])
    points = sorted({c for c in cuts if c < len(data)})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    header = "\r\n ".join(word(charset, piece, q) for piece in pieces)
    assert decode_header_value(header) == value


@settings(max_examples=40, deadline=None)
@given(
    stem=text.filter(lambda s: "/" not in s and "\\" not in s and '"' not in s),
    style=st.sampled_from(FILENAME_STYLES),
)
def test_attachment_names_survive_every_style(stem: str, style: str) -> None:
    name = stem + ".xlsx"
    raw = build_message(
        sender="a@b.example",
        to="c@d.example",
        subject=stem,
        date=datetime(2021, 12, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        attachments=[(name, b"data", None)],
        filename_style=style,
        subject_charset="gb2312",
    )
    walked = walk(raw)
    assert walked.envelope.subject == stem
    assert [a.filename for a in walked.attachments] == [name]


MESSAGE = build_message(
    sender="officer@province.example",
    to="bot@x.example",
    subject="山东省申请汇总表",
    date=datetime(2021, 12, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    attachments=[("汇总表.xlsx", b"PK\x03\x04 not really", None)],
    html_body="<table><tr><td>镕喆</td></tr></table>",
    filename_style="rfc2231-gbk",
    subject_charset="gb2312",
    forwarded_by="fw@province.example",
)


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(
        st.tuples(
            st.integers(0, len(MESSAGE) - 1),
            st.sampled_from([b"", b"\r\n", b"--", b"=?", b";", b'"', b"\xd5"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_damaged_messages_walk_or_are_refused_with_a_reason(cuts: list[tuple[int, bytes]]) -> None:
    data = bytearray(MESSAGE)
    for at, junk in cuts:
        data[at : at + max(1, len(junk))] = junk
    try:
        walked = walk(bytes(data))
    except MailUnreadable as refused:
        assert refused.reason
        return
    assert isinstance(walked.envelope.subject, str)
