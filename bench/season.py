"""A national season of mail, generated: 32 provinces, 3,000 units, rosters, weekly summaries, daily lists.

Deterministic (seeded), written once into var/bench-season/ and reused by later runs.
"""

from __future__ import annotations

import io
import random
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from compliance.creditcode import ALPHABET, make_code
from mail.vocab import vocab

TZ = ZoneInfo("Asia/Shanghai")
PROVINCES = tuple(dict.fromkeys(name for _, name in vocab().provinces))
NCSC = "registry@ccersc.org.cn"
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def officer(index: int) -> str:
    return f"officer{index:02d}@province{index:02d}.example"


def senders_toml() -> str:
    lines = ['cycle = "2019-2020"', "[senders]", f'ncsc = ["{NCSC}"]', "[senders.provinces]"]
    lines += [f'"{p}" = ["{officer(i)}"]' for i, p in enumerate(PROVINCES)]
    return "\n".join(lines) + "\n"


def _units(rng: random.Random, total: int) -> list[tuple[str, str, str, int]]:
    units = []
    for n in range(total):
        province = PROVINCES[n % len(PROVINCES)]
        body = "91" + f"{n:06d}" + "".join(rng.choice(ALPHABET) for _ in range(9))
        units.append((province, f"第{n}号发电有限公司", make_code(body), rng.randrange(500_000, 20_000_000)))
    return units


def _xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _mail(sender: str, subject: str, when: datetime, data: bytes, n: int) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "ccerbot@bot.example", subject
    message["Date"], message["Message-ID"] = format_datetime(when), f"<season-{n}@bench.example>"
    message.set_content(subject)
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=f"{n}.xlsx")
    return bytes(message)


ROSTER = ["省份", "重点排放单位名称", "统一社会信用代码", "应清缴配额量（吨）", "履约状态"]
WEEKLY = [
    "省份",
    "重点排放单位名称",
    "统一社会信用代码",
    "应清缴配额量",
    "申请抵销量（吨）",
    "CCER项目编号",
    "减排量产生时间",
    "确认结果",
]
DAILY = ["注销日期", "账户名称", "统一社会信用代码", "项目编号", "序列号起", "序列号止", "注销数量（吨）"]


def generate(total_units: int = 3000, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    units = _units(rng, total_units)
    mails: list[bytes] = []
    start = datetime(2021, 10, 25, 15, tzinfo=TZ)
    for i, province in enumerate(PROVINCES):
        rows = [[p, name, code, due, None] for p, name, code, due in units if p == province]
        mails.append(_mail(officer(i), f"{province}重点排放单位名录", start, _xlsx(ROSTER, rows), len(mails)))
    applying = [u for u in units if rng.random() < 0.6]
    for week in range(7):
        friday = date(2021, 10, 29) + timedelta(days=7 * week)
        when = datetime.combine(friday, datetime.min.time(), TZ) + timedelta(hours=16)
        for i, province in enumerate(PROVINCES):
            rows = [
                [
                    p,
                    name,
                    code,
                    due,
                    due // 25,
                    "0158",
                    "2014-01-01至2016-10-31",
                    "已确认" if week > 2 else "待确认",
                ]
                for p, name, code, due in applying
                if p == province
            ]
            subject = f"{province}CCER抵销配额清缴申请汇总表（截至{friday.isoformat()}）"
            mails.append(_mail(officer(i), subject, when, _xlsx(WEEKLY, rows), len(mails)))
    serial = 10**9
    for day_n in range(40):
        day = date(2021, 11, 1) + timedelta(days=day_n)
        when = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=17, minutes=40)
        for province in PROVINCES:
            todays = [u for u in applying if u[0] == province and rng.random() < 0.02]
            if not todays:
                continue
            rows = []
            for _, name, code, due in todays:
                rows.append(
                    [
                        f"{day.isoformat()} 10:00",
                        name,
                        code,
                        "0158",
                        f"{serial:012d}",
                        f"{serial + due // 25 - 1:012d}",
                        due // 25,
                    ]
                )
                serial += due // 25
            subject = f"CCER注销记录（{province}，{day.isoformat()}）"
            mails.append(_mail(NCSC, subject, when, _xlsx(DAILY, rows), len(mails)))
    return mails


def season(folder: Path, total_units: int = 3000) -> list[Path]:
    """The season's .eml files, generated into `folder` the first time."""
    marker = folder / f".complete-{total_units}"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for n, raw in enumerate(generate(total_units)):
            (folder / f"{n:05d}.eml").write_bytes(raw)
        (folder / "ccerbot.toml").write_text(senders_toml(), encoding="utf-8")
        marker.touch()
    return sorted(folder.glob("*.eml"))
