"""Walking whole messages: envelopes, attachments, bodies and forwarded mail, however broken."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mail.mime import MailUnreadable, Walked, parse_message, walk
from tests.mail.corpus import (
    FILENAME_STYLES,
    XLSX_TYPE,
    build_message,
    csv_bytes,
    forward_message,
    html_table,
    xlsx_bytes,
)

TZ = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2021, 12, 10, 16, 30, tzinfo=TZ)
SUBJECT = "山东省CCER抵销配额清缴申请汇总表（截至2021年12月10日）镕喆"
FILE = "山东省申请汇总表镕喆20211210.xlsx"
SHEET = xlsx_bytes([["序号", "统一社会信用代码"], [1, "913703082HD1TJ3Y9U"]])


def message(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "sender": "CCER@Sthj.Shandong.example",
        "to": ["ccerbot@bot.example", "registry@ccersc.org.cn"],
        "subject": SUBJECT,
        "date": WHEN,
        "attachments": [(FILE, SHEET, XLSX_TYPE)],
    }
    fields.update(overrides)
    return build_message(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("style", FILENAME_STYLES)
@pytest.mark.parametrize("charset", ["utf-8", "gb2312", "gbk", "gb18030", "raw-gbk", "raw-utf-8"])
def test_envelope_and_attachment_in_every_encoding(style: str, charset: str) -> None:
    walked = walk(message(filename_style=style, subject_charset=charset))
    assert walked.envelope.subject == SUBJECT
    assert [(a.filename, a.content_type, a.data) for a in walked.attachments] == [(FILE, XLSX_TYPE, SHEET)]


def test_subject_split_inside_characters() -> None:
    assert walk(message(subject_charset="gb2312", split_words=True)).envelope.subject == SUBJECT
    assert walk(message(subject_charset="utf-8", split_words=True)).envelope.subject == SUBJECT


def test_envelope_fields() -> None:
    walked = walk(message(cc=["Officer <Officer@Province.example>"], message_id="<abc@x.example>"))
    envelope = walked.envelope
    assert envelope.sender == "ccer@sthj.shandong.example"
    assert envelope.to == ("ccerbot@bot.example", "registry@ccersc.org.cn")
    assert envelope.message_id == "<abc@x.example>"
    assert envelope.date == WHEN and envelope.date.utcoffset() == timedelta(hours=8)
    assert walked.text_body == "请查收附件。"
    assert walked.forwarded == ()


def test_html_body_is_decoded_and_kept() -> None:
    table = html_table([["账户名称", "注销数量（吨）"], ["青岛恒信电力有限公司", "214000"]])
    walked = walk(message(html_body=f"<html><body><p>镕喆</p>{table}</body></html>", attachments=[]))
    assert walked.attachments == ()
    assert len(walked.html_bodies) == 1
    assert "青岛恒信电力有限公司" in walked.html_bodies[0] and "镕喆" in walked.html_bodies[0]


def test_forwarded_message_gives_its_attachments_and_envelope() -> None:
    walked = walk(message(forwarded_by="Officer@Province.example"))
    assert walked.envelope.sender == "officer@province.example"
    assert walked.envelope.subject == "转发：" + SUBJECT
    assert [e.sender for e in walked.forwarded] == ["ccer@sthj.shandong.example"]
    assert walked.forwarded[0].subject == SUBJECT
    assert [a.filename for a in walked.attachments] == [FILE]
    assert walked.text_body == "转发的邮件见附件。"


def test_forward_of_a_forward_lists_envelopes_outermost_first() -> None:
    twice = forward_message(
        message(forwarded_by="middle@x.example"),
        by="outer@y.example",
        to="bot@z.example",
        subject="再转",
        date=WHEN,
    )
    walked = walk(twice)
    assert walked.envelope.sender == "outer@y.example"
    assert [e.sender for e in walked.forwarded] == ["middle@x.example", "ccer@sthj.shandong.example"]
    assert [a.filename for a in walked.attachments] == [FILE]


def test_forwarded_message_sent_base64_encoded() -> None:
    inner = message()
    raw = (
        b"From: officer@province.example\r\nSubject: fw\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner)
        + b"\r\n--B--\r\n"
    )
    walked = walk(raw)
    assert [e.subject for e in walked.forwarded] == [SUBJECT]
    assert [a.filename for a in walked.attachments] == [FILE]


def test_eml_file_attached_as_octet_stream_is_read_as_forwarded() -> None:
    walked = walk(message(attachments=[("原邮件.eml", message(), "application/octet-stream")]))
    assert [e.subject for e in walked.forwarded] == [SUBJECT]
    assert [a.filename for a in walked.attachments] == [FILE]


def test_csv_sent_as_text_plain_attachment_is_an_attachment_not_the_body() -> None:
    data = csv_bytes([["账户名称", "注销数量（吨）"], ["青岛", "1"]], "gbk")
    walked = walk(message(attachments=[("注销记录.csv", data, "text/plain")]))
    assert walked.text_body == "请查收附件。"
    assert [(a.filename, a.data) for a in walked.attachments] == [("注销记录.csv", data)]


def test_attachment_without_a_name_is_kept() -> None:
    walked = walk(message(attachments=[(None, SHEET, "application/octet-stream")]))
    assert [(a.filename, a.data) for a in walked.attachments] == [(None, SHEET)]


def broken(body: bytes, head: bytes = b"") -> Walked:
    return walk(b"From: a@b.example\r\nSubject: x\r\n" + head + b"\r\n" + body)


def test_missing_closing_boundary_still_yields_the_attachment() -> None:
    raw = message()
    cut = raw[: raw.rindex(b"--\r\n") - 2].rsplit(b"\r\n--", 1)[0] + b"\r\n"
    walked = walk(cut)
    assert [(a.filename, a.data) for a in walked.attachments] == [(FILE, SHEET)]


def test_multipart_whose_boundary_never_appears_is_text() -> None:
    walked = broken(b"just some text\r\n", b'Content-Type: multipart/mixed; boundary="nowhere"\r\n')
    assert walked.text_body.strip() == "just some text"
    assert walked.attachments == ()


def test_broken_base64_and_unknown_encoding_do_not_raise() -> None:
    head = b"Content-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n"
    assert len(broken(b"!!!not base64 at all===\r\n", head).attachments) == 1
    head = b"Content-Type: text/plain; charset=x-nonsense\r\nContent-Transfer-Encoding: x-weird\r\n"
    assert broken("山东".encode(), head).text_body == "山东"


def test_header_oddities() -> None:
    raw = (
        b"\xef\xbb\xbf\r\nFrom: =?gb2312?B?"
        + base64.b64encode("张三".encode("gbk"))
        + b"?= <ZS@A.example>\r\n"
        b"To: undisclosed-recipients:;\r\n"
        b"Cc: a@b.example, a@b.example, \xd5\xc5 <c@d.example>\r\n"
        b"Date: Fri, 10 Dec 2021 08:30:00 -0000\r\n"
        b"\r\nbody\r\n"
    )
    envelope = walk(raw).envelope
    assert envelope.sender == "zs@a.example"
    assert envelope.to == ()
    # the same list on To: read once each, an undecodable name dropped
    to_list = raw.replace(b"To: undisclosed-recipients:;\r\nCc:", b"To:")
    assert walk(to_list).envelope.to == ("a@b.example", "c@d.example")
    assert envelope.date == datetime(2021, 12, 10, 8, 30, tzinfo=UTC)
    assert envelope.message_id is None
    assert envelope.subject == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 10 Dec 2021 16:30:00 +0800 (CST)", datetime(2021, 12, 10, 16, 30, tzinfo=TZ)),
        ("10 Dec 2021 16:30:00", datetime(2021, 12, 10, 16, 30, tzinfo=TZ)),  # no zone: a clock in China
        ("2021-12-10 16:30:00", datetime(2021, 12, 10, 16, 30, tzinfo=TZ)),
        ("周五, 10 12月 2021", None),
        ("", None),
    ],
)
def test_dates(value: str, expected: datetime | None) -> None:
    date = walk(f"From: a@b.example\r\nDate: {value}\r\n\r\nx".encode()).envelope.date
    assert date == expected
    assert date is None or date.tzinfo is not None


def test_the_sender_is_the_from_mailbox_only_and_garbage_names_no_one() -> None:
    # the From domain is what DMARC vouches for: a Sender header never stands in for it
    alone = walk(b"Sender: S@X.example\r\nSubject: a\r\n\r\nx").envelope
    assert alone.sender is None and alone.sender_problem == "没有 From 头"
    broken = walk(b'From: "unbalanced <a@b.example>\r\n\r\nx').envelope
    assert broken.sender is None and "From 无法解析" in (broken.sender_problem or "")
    assert walk(b"From: S@X.example\r\n\r\nx").envelope.sender == "s@x.example"


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\x00\x01\x02 binary garbage without headers"])
def test_nothing_readable_raises_mail_unreadable_with_a_reason(raw: bytes) -> None:
    with pytest.raises(MailUnreadable) as caught:
        parse_message(raw)
    assert caught.value.reason


def test_deep_nesting_is_cut_off_not_recursed_forever() -> None:
    raw = message()
    for depth in range(60):
        raw = f"From: f{depth}@x.example\r\nContent-Type: message/rfc822\r\n\r\n".encode() + raw
    walked = walk(raw)
    assert len(walked.forwarded) <= 25
