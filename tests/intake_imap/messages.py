"""Realistic messages for the intake tests: the shared samples, and variants built from them."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from mail.mime import walk
from mail.trust import Senders
from tests import shared

SAMPLES = shared.SAMPLES / "mail"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 1, 5, 10, 0, tzinfo=TZ)
SHANDONG = "ccer@sthj.shandong.example"
GUANGDONG = "tanjiaoyi@gdee.guangdong.example"
# As in the samples' ccerbot.toml.
SENDERS = Senders.build(
    ["registry@ccersc.org.cn", "registry@ccer-sc.org.cn"], {"山东省": [SHANDONG], "广东省": [GUANGDONG]}
)


def sample(name: str) -> bytes:
    """One of the shared sample messages, e.g. "001-roster"."""
    return (SAMPLES / f"{name}.eml").read_bytes()


def from_stranger(name: str, stranger: str = "someone@mail.example") -> bytes:
    """A sample as sent by an address nobody configured (a new Message-ID, so it is no duplicate)."""
    raw = sample(name)
    head, body = raw.split(b"\n\n", 1)
    lines = []
    for line in head.split(b"\n"):
        if line.startswith(b"From:"):
            line = f"From: {stranger}".encode()
        elif line.startswith(b"Message-ID:"):
            line = f"Message-ID: {make_msgid(domain='mail.example')}".encode()
        lines.append(line)
    return b"\n".join(lines) + b"\n\n" + body


def _roster_message(subject: str, sender: str = SHANDONG) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, "ccerbot@bot.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2021, 10, 27, 10, 0, tzinfo=TZ))
    message["Message-ID"] = make_msgid(domain="sthj.shandong.example")
    message.set_content("名录见附件。")
    return message


def roster_with_bad_rows() -> bytes:
    """A Shandong roster as CSV: a good row, a row with a wrong check character, a negative amount."""
    message = _roster_message("山东省2019-2020年度重点排放单位名录（补充）")
    csv = (
        "省份,重点排放单位名称,统一社会信用代码,2019-2020年度应清缴配额量（吨）,联系人邮箱\n"
        "山东省,济南瑞丰发电有限责任公司,9137132112TH3BJ194,3683910,tan1@unit371.example\n"
        "山东省,济南新能发电有限公司,9137132112TH3BJ195,100,\n"
        "山东省,青岛恒信电力有限公司,913703082HD1TJ3Y9U,-5,\n"
    )
    message.add_attachment(csv.encode("utf-8-sig"), maintype="text", subtype="csv", filename="名录.csv")
    return message.as_bytes()


def roster_unreadable() -> bytes:
    """A Shandong roster whose .xlsx attachment is truncated."""
    message = _roster_message("山东省2019-2020年度重点排放单位名录")
    xlsx = sample_attachment("001-roster")[:600]
    message.add_attachment(
        xlsx,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="名录.xlsx",
    )
    return message.as_bytes()


def sample_attachment(name: str) -> bytes:
    return walk(sample(name)).attachments[0].data
