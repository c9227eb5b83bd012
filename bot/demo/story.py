"""Writes the demo mailbox: the story of story.toml told as the mail a province would really get."""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from compliance.creditcode import make_code

TZ = ZoneInfo("Asia/Shanghai")
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
BOT = "ccerbot@demo.example"
STORY = Path(__file__).with_name("story.toml")


@dataclass(frozen=True)
class Mail:
    name: str
    raw: bytes


def load_story() -> dict[str, Any]:
    with STORY.open("rb") as handle:
        return tomllib.load(handle)


def _units(story: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**u, "code": make_code(u["code17"])} for u in story["units"]]


def sheet_bytes(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.append(["合计"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def mail_with(sender: str, to: str, subject: str, when: datetime, filename: str, data: bytes) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    message.set_content(f"{subject}，详见附件。")
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=filename)
    return bytes(message)


def xlsx_mail(
    sender: str,
    to: str,
    subject: str,
    when: datetime,
    filename: str,
    header: list[str],
    rows: list[list[Any]],
) -> Mail:
    """A message with one spreadsheet attached: a title row, the header, the rows and a total row."""
    return Mail(filename, mail_with(sender, to, subject, when, filename, sheet_bytes(subject, header, rows)))


def _officer(story: dict[str, Any], province: str) -> str:
    return str(story["senders"]["provinces"][province][0])


def rosters(story: dict[str, Any], day: date, progress: bool) -> list[bytes]:
    header = story["headers"]["roster"]
    mails = []
    for province in story["senders"]["provinces"]:
        rows = []
        for n, u in enumerate([u for u in _units(story) if u["province"] == province], 1):
            done = progress and "complied_on" in u and date.fromisoformat(u["complied_on"]) <= day
            status = ("已完成" if done else "未完成") if progress else None
            rows.append(
                [
                    n,
                    province,
                    u["name"],
                    u["code"],
                    f"{u['code17'][-12:]}",
                    u["due"],
                    u["due"] if done else (0 if progress else None),
                    status,
                    f"unit{n}@{u['code17'][2:6]}.example",
                ]
            )
        suffix = f"名录及履约进度（截至{day.isoformat()}）" if progress else "名录"
        subject = f"{province}2019-2020年度重点排放单位{suffix}"
        when = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=18 if progress else 15)
        data = sheet_bytes(subject, header, rows)
        mails.append(
            mail_with(_officer(story, province), BOT, subject, when, f"{province}名录{day:%Y%m%d}.xlsx", data)
        )
    return mails


def weekly(story: dict[str, Any], friday: date) -> list[bytes]:
    header = story["headers"]["weekly"]
    mails = []
    for province in story["senders"]["provinces"]:
        applying = [u for u in _units(story) if u["province"] == province and "requested" in u]
        rows = []
        for n, u in enumerate(applying if friday >= date(2021, 11, 5) else [], 1):
            result = u["result"] if friday >= date(2021, 11, 26) else "待确认"
            decided = "2021-11-24" if result != "待确认" else None
            rows.append(
                [
                    n,
                    province,
                    u["name"],
                    u["code"],
                    u["due"],
                    u["requested"],
                    u["project"],
                    f"某CCER项目{u['project']}",
                    f"2014-01-01至{u['vintage_end']}",
                    result,
                    decided,
                    None,
                ]
            )
        title = "全国碳市场第一个履约周期重点排放单位使用CCER抵销配额清缴申请汇总表"
        subject = f"{province}CCER抵销配额清缴申请汇总表（截至{friday.year}年{friday.month}月{friday.day}日）"
        when = datetime.combine(friday, datetime.min.time(), TZ) + timedelta(hours=16, minutes=30)
        data = sheet_bytes(title, header, rows)
        mails.append(
            mail_with(
                _officer(story, province),
                "registry@ccersc.org.cn",
                subject,
                when,
                f"{province}申请汇总表{friday:%Y%m%d}.xlsx",
                data,
            )
        )
    return mails


def _cancellations(story: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    serial = 1_071_803_900
    for u in _units(story):
        for at, quantity in u.get("cancel", []):
            records.append(
                {
                    "at": at,
                    "name": u["name"],
                    "code": u["code"],
                    "project": u["project"],
                    "quantity": quantity,
                    "province": u["province"],
                    "serial": serial,
                }
            )
            serial += quantity
    for s in story.get("strangers", []):
        records.append(
            {
                "at": s["at"],
                "name": s["name"],
                "code": None,
                "project": s["project"],
                "quantity": s["quantity"],
                "province": s["province"],
                "serial": serial,
            }
        )
        serial += s["quantity"]
    return sorted(records, key=lambda r: r["at"])


def daily_lists(story: dict[str, Any]) -> list[tuple[datetime, bytes]]:
    """One list a day with cancellations, per province; each list also repeats the province's earlier
    records (some days the lists are cumulative), which must count once."""
    header = story["headers"]["daily"]
    mails: list[tuple[datetime, bytes]] = []
    seen: dict[str, list[dict[str, Any]]] = {}
    for record in _cancellations(story):
        seen.setdefault(record["province"], []).append(record)
        rows = [
            [
                n,
                r["at"],
                r["name"],
                r["code"],
                r["project"],
                f"某CCER项目{r['project']}",
                f"{r['serial']:012d}",
                f"{r['serial'] + r['quantity'] - 1:012d}",
                r["quantity"],
                "配额清缴抵销",
            ]
            for n, r in enumerate(seen[record["province"]], 1)
        ]
        day = datetime.fromisoformat(record["at"]).date()
        province = record["province"]
        subject = f"全国碳市场重点排放单位CCER注销记录（{province}，{day.year}年{day.month}月{day.day}日）"
        when = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=17, minutes=40)
        data = sheet_bytes(subject, header, rows)
        mails.append(
            (
                when,
                mail_with(
                    "registry@ccersc.org.cn",
                    _officer(story, province),
                    subject,
                    when,
                    f"CCER注销记录-{province}-{day:%Y%m%d}.xlsx",
                    data,
                ),
            )
        )
    return mails


def untrusted(story: dict[str, Any]) -> bytes:
    """A roster from an address nobody configured: kept, reported, applied to nothing."""
    raw = rosters(story, date(2021, 11, 30), progress=True)[0]
    return raw.replace(_officer(story, "浙江省").encode(), b"someone@mail.example")


def build_mailbox(folder: Path) -> list[Path]:
    """Write every message of the story into `folder`, named in the order they arrive."""
    story = load_story()
    dated: list[tuple[datetime, str, bytes]] = []
    dated += [
        (datetime(2021, 10, 25, 15, tzinfo=TZ), "roster", m)
        for m in rosters(story, date(2021, 10, 25), False)
    ]
    friday = date(2021, 10, 29)
    while friday <= date(2021, 12, 31):
        dated += [
            (datetime.combine(friday, datetime.min.time(), TZ) + timedelta(hours=16, minutes=30), "weekly", m)
            for m in weekly(story, friday)
        ]
        friday += timedelta(days=7)
    dated += [(when, "daily", m) for when, m in daily_lists(story)]
    for day in (date(2021, 12, 14), date(2021, 12, 30)):
        dated += [
            (datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=18), "roster", m)
            for m in rosters(story, day, True)
        ]
    dated.append((datetime(2021, 11, 30, 9, 12, tzinfo=TZ), "untrusted", untrusted(story)))
    dated.sort(key=lambda item: item[0])
    repeat = next(m for when, kind, m in dated if kind == "weekly" and when.date() == date(2021, 11, 26))
    dated.append((datetime(2021, 11, 27, 8, tzinfo=TZ), "duplicate", repeat))
    dated.sort(key=lambda item: item[0])
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    paths = []
    for n, (_, kind, raw) in enumerate(dated, 1):
        path = folder / f"{n:03d}-{kind}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths
