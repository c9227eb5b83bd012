"""Header values, body text and attachment names in the charsets and encodings Chinese mail uses."""

from __future__ import annotations

import base64
import email
from email.message import Message
from email.policy import compat32

import pytest

from mail.decode import charset_of, decode_header_value, decode_text, filename_of

# 镕 and 喆 are GBK but not GB2312: a decoder that trusts a gb2312 label gets them wrong.
NAME = "山东省镕喆热电申请汇总表.xlsx"


def b_word(charset: str, data: bytes) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def pct(data: bytes) -> str:
    return "".join(f"%{byte:02X}" for byte in data)


def part(headers: bytes) -> Message:
    return email.message_from_bytes(headers + b"\r\n\r\nbody\r\n", policy=compat32)


@pytest.mark.parametrize("label", ["gb2312", "GB2312", "gbk", "GBK", "x-gbk", "cp936", "gb18030", "euc-cn"])
def test_gb_family_labels_decode_gbk_characters(label: str) -> None:
    assert decode_header_value(b_word(label, "镕喆".encode("gb18030"))) == "镕喆"


def test_charset_labels_map_to_codecs() -> None:
    assert charset_of("gb2312") == "gb18030"
    assert charset_of('"GBK"') == "gb18030"
    assert charset_of("utf-8*zh-cn") == "utf-8"
    assert charset_of("no-such-charset") is None
    assert charset_of("unknown-8bit") is None
    assert charset_of(None) is None
    assert charset_of("\udcd5utf-8") is None  # a raw 8-bit byte in the label
    assert charset_of("utf-8\x00") is None


def test_folded_words_are_joined_without_the_folding_space() -> None:
    raw = "=?utf-8?b?5bGx5Lic55yBMjAxOS0yMDIw5bm05bqm6YeN54K55o6S5pS+5Y2V5L2N?=\r\n =?utf-8?b?5ZCN5b2V?="
    assert decode_header_value(raw) == "山东省2019-2020年度重点排放单位名录"


def test_a_character_split_across_two_words_is_rejoined() -> None:
    data = "山东省镕喆".encode("gb18030")
    raw = f"Re: {b_word('gb2312', data[:3])} {b_word('GB2312', data[3:])} 汇总"
    assert decode_header_value(raw) == "Re: 山东省镕喆 汇总"


def test_words_in_different_charsets_stay_apart() -> None:
    raw = b_word("utf-8", "山东".encode()) + " " + b_word("gbk", "省".encode("gbk"))
    assert decode_header_value(raw) == "山东省"


def test_q_encoding_and_plain_text_around_words() -> None:
    assert decode_header_value("转发: =?gbk?Q?=C9=BD=B6=AB_x?= end") == "转发: 山东 x end"


def test_raw_8bit_header_bytes_are_read_as_utf8_or_gb18030() -> None:
    assert decode_header_value("山东省汇总".encode()) == "山东省汇总"
    assert decode_header_value("山东省镕喆".encode("gb18030")) == "山东省镕喆"
    # What the parser stores for 8-bit bytes: surrogate escapes.
    escaped = "山东省镕喆".encode("gb18030").decode("ascii", "surrogateescape")
    assert decode_header_value(escaped) == "山东省镕喆"


def test_malformed_words_stay_visible_rather_than_vanishing() -> None:
    assert decode_header_value("a =?bad?B?***?= b") == "a =?bad?B?***?= b"
    assert decode_header_value("=?utf-8?B?5bGx5Lic?=") == "山东"
    assert decode_header_value("=?utf-8?B?5bGx5Lic===?=") == "山东"  # over-padded


def test_unknown_charset_label_falls_back_to_the_bytes() -> None:
    assert decode_header_value(b_word("x-made-up", "山东".encode("gb18030"))) == "山东"


def test_empty_and_missing_values() -> None:
    assert decode_header_value(None) == ""
    assert decode_header_value("  \r\n ") == ""


def test_control_characters_and_line_breaks_become_single_spaces() -> None:
    assert decode_header_value("a\tb\r\n  c\x00d") == "a b c d"


def test_undecodable_bytes_are_replaced_visibly_never_dropped() -> None:
    text = decode_text(b"ok \xff\xff\xff end", "utf-8")
    assert text.startswith("ok ") and text.endswith(" end")
    assert "\ufffd" in text


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("山东省镕喆".encode("gb18030"), "gb2312", "山东省镕喆"),
        ("山东省".encode(), "gb2312", "山东省"),  # mislabelled UTF-8: the label fails, UTF-8 reads it
        ("山东省".encode("gbk"), None, "山东省"),
        ("山东省".encode(), "iso-8859-1", "山东省"),  # a catch-all label must not turn UTF-8 into mojibake
        (b"\xef\xbb\xbfhello", "utf-8", "hello"),
        ("caf\u00e9".encode("cp1252"), "windows-1252", "caf\u00e9"),
    ],
)
def test_body_text_charset_policy(data: bytes, declared: str | None, expected: str) -> None:
    assert decode_text(data, declared) == expected


@pytest.mark.parametrize(
    "headers",
    [
        # RFC 2231 with continuations, UTF-8
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n"
        b" filename*0*=utf-8''%E5%B1%B1%E4%B8%9C%E7%9C%81%E9%95%95%E5%96%86;\r\n"
        b" filename*1*=%E7%83%AD%E7%94%B5%E7%94%B3%E8%AF%B7%E6%B1%87%E6%80%BB%E8%A1%A8.xlsx",
        # RFC 2231, one parameter, GBK (labelled gb2312), no continuation
        f"Content-Disposition: attachment; filename*=gb2312''{pct(NAME.encode('gb18030'))}".encode(),
        # RFC 2047 in a quoted filename (Outlook, Foxmail)
        b'Content-Disposition: attachment; filename="'
        + b_word("gb2312", NAME.encode("gb18030")).encode()
        + b'"',
        # raw 8-bit GBK, quoted and unquoted
        b'Content-Disposition: attachment; filename="' + NAME.encode("gb18030") + b'"',
        b"Content-Disposition: attachment; filename=" + NAME.encode("gb18030"),
        # only the Content-Type name
        b'Content-Type: application/vnd.ms-excel; name="' + b_word("gbk", NAME.encode("gbk")).encode() + b'"',
        # raw 8-bit UTF-8
        b'Content-Disposition: attachment; filename="' + NAME.encode() + b'"',
    ],
    ids=[
        "2231-utf8-continued",
        "2231-gbk",
        "2047-gb2312",
        "raw-gbk",
        "raw-gbk-unquoted",
        "ct-name",
        "raw-utf8",
    ],
)
def test_filename_in_every_encoding(headers: bytes) -> None:
    assert filename_of(part(headers)) == NAME


def test_rfc2231_continuation_cutting_a_gbk_character_in_two() -> None:
    raw = NAME.encode("gb18030")
    params = f"filename*0*=GBK''{pct(raw[:5])}; filename*1*={pct(raw[5:])}"
    headers = f"Content-Disposition: attachment; {params}".encode()
    assert filename_of(part(headers)) == NAME


def test_rfc2231_segments_out_of_order_and_mixed_with_plain_ones() -> None:
    headers = (
        b'Content-Disposition: attachment; filename*1="-20211115.xlsx";'
        b" filename*0*=utf-8''%E6%B3%A8%E9%94%80%E8%AE%B0%E5%BD%95"
    )
    assert filename_of(part(headers)) == "注销记录-20211115.xlsx"


def test_disposition_name_wins_over_content_type_name() -> None:
    headers = (
        b'Content-Type: application/octet-stream; name="b.xls"\r\n'
        b'Content-Disposition: attachment; filename="a.xlsx"'
    )
    assert filename_of(part(headers)) == "a.xlsx"


def test_a_path_in_the_name_is_reduced_to_its_last_part() -> None:
    headers = b'Content-Disposition: attachment; filename="C:\\Users\\me\\Desktop\\a.xlsx"'
    assert filename_of(part(headers)) == "a.xlsx"


def test_semicolon_inside_quotes_is_part_of_the_name() -> None:
    headers = b'Content-Disposition: attachment; filename="a;b.xlsx"; size=10'
    assert filename_of(part(headers)) == "a;b.xlsx"


def test_no_name() -> None:
    assert filename_of(part(b"Content-Type: text/plain")) is None
    assert filename_of(part(b'Content-Disposition: attachment; filename=""')) is None


@pytest.mark.parametrize("quoted", [True, False])
def test_raw_gbk_name_whose_second_byte_is_a_backslash(quoted: bool) -> None:
    name = "淺灣琝汇总.xlsx"  # 淺 and 琝 end in byte 0x5C in GBK
    assert b"\\" in name.encode("gbk")
    value = b'"' + name.encode("gbk") + b'"' if quoted else name.encode("gbk")
    assert filename_of(part(b"Content-Disposition: attachment; filename=" + value)) == name


def test_full_width_space_is_text_not_folding() -> None:
    assert decode_header_value(b_word("gbk", "山东省\u3000汇总".encode("gbk"))) == "山东省\u3000汇总"
