"""The demo's step 4 done with ccerbot (附件1 第四步), for the story's `[step4]` province: the units mail
their 申请表, the officer decides in the console, the Friday summary is composed and sent, and the copy
the bot receives is read back — which is what changes the units' states."""

from __future__ import annotations

import io
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bot.console import PEER, Console
from bot.context import AppContext
from bot.demo.story import BOT, TZ, mail_with, sheet_bytes
from bot.notices.applications_summary import friday
from bot.sender.email import compose
from compliance.creditcode import make_code
from mail.intake import Outcome, take
from storage import access, outbox
from storage.engine import session_scope
from templates import render

FORM_TITLE = "全国碳市场第一个履约周期重点排放单位使用CCER抵销配额清缴申请表"


def _units(step4: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**u, "code": make_code(u["code17"])} for u in step4["units"]]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def roster(story: dict[str, Any]) -> bytes:
    step4 = story["step4"]
    province = step4["province"]
    rows = [
        [n, province, u["name"], u["code"], u["code17"][-12:], u["due"], None, None, u["contact"]]
        for n, u in enumerate(_units(step4), 1)
    ]
    subject = f"{province}2019-2020年度重点排放单位名录"
    data = sheet_bytes(subject, story["headers"]["roster"], rows)
    return mail_with(step4["sender"], BOT, subject, _at("2021-10-25 15:00"), f"{province}名录.xlsx", data)


def application(unit: dict[str, Any]) -> bytes:
    """The unit's 申请表 as a sheet laid out as the form, mailed from its contact address."""
    when, requested, project, vintage_end = unit["apply"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (
        [FORM_TITLE],
        ["重点排放单位名称", unit["name"], "统一社会信用代码", unit["code"]],
        ["全国碳排放权注册登记系统账户号", unit["code17"][-12:]],
        ["2019-2020年度应清缴配额量（吨）", unit["due"], "申请抵销量（吨）", requested],
        ["CCER项目编号", "项目名称", "减排量产生时间", "申请抵销量（吨）"],
        [project, f"某CCER项目{project}", f"2014-01-01至{vintage_end}", requested],
        ["联系人", "张工", "联系电话", "0531-88000000"],
        ["单位盖章", None, "日期", when[:10]],
    ):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    subject = f"{unit['name']} CCER抵销配额清缴申请表"
    return mail_with(unit["contact"], BOT, subject, _at(when), "申请表.xlsx", buffer.getvalue())


def show_step4(demo: AppContext, story: dict[str, Any], files: Path) -> None:
    step4 = story["step4"]
    province, lang = step4["province"], demo.settings.lang
    day = date.fromisoformat(step4["friday"])
    print(
        "=" * 72
        + "\n"
        + render("cli", lang, part="demo_step4", province=province, friday=day)
        + "\n"
        + "=" * 72
    )
    applying = [u for u in _units(step4) if "apply" in u]
    mails = [("roster", roster(story), _at("2021-10-25 15:00"))]
    mails += [("form", application(u), _at(u["apply"][0]) + timedelta(minutes=5)) for u in applying]
    numbers: dict[str, int] = {}  # each unit's application, as intake numbered it
    for n, (kind, raw, now) in enumerate(mails, 1):
        outcome = _take(demo, raw, f"s4-{n}-{kind}.eml", now)
        code = _code_of(outcome, applying)
        if code is not None and outcome.applications:
            numbers[code] = outcome.applications[0]
    # the officer, the next morning, in the console (as in Telegram), in the demo's language
    with session_scope(demo.engine) as session:
        access.set_language(session, PEER, lang)
    console = Console(demo, sys.stdout, _at(f"{day - timedelta(days=3)} 09:00"), files)
    print("\n" + render("cli", lang, part="demo_step4_officer", at=console.instant()))
    for line in ["/as officer " + province, "/applications"]:
        _typed(console, line)
    for unit in applying:
        number = numbers[unit["code"]]
        if unit["decide"] == "confirm":
            _typed(console, f"/confirm_application {number}")
        else:
            _typed(console, f"/application {number}")
            _typed(console, f"/return_application {number} {unit['decide']}")
    # Friday: composed at 09:00, sent by the officer, read back from the copy the bot receives
    console.now = _at(f"{day} 10:00")
    friday(demo.engine, demo.settings, demo.cycle, _at(f"{day} 09:05"))
    print("\n" + render("cli", lang, part="demo_step4_friday", at=console.instant()))
    _typed(console, "/summary")
    _typed(console, "1")
    [sent] = [i for i in outbox.items(demo.engine) if i.kind == "weekly_summary"]
    raw = bytes(compose(sent, BOT))
    print("\n" + render("cli", lang, part="demo_step4_back", to=sent.recipient, cc=sent.cc))
    _take(demo, raw, f"s4-{len(mails) + 1}-summary.eml", console.instant() + timedelta(minutes=5))
    print()


def _code_of(outcome: Outcome, applying: list[dict[str, Any]]) -> str | None:
    """The unit an application mail was for: its sender is the unit's contact address."""
    return next((u["code"] for u in applying if u["contact"] == outcome.sender), None)


def _take(demo: AppContext, raw: bytes, name: str, now: datetime) -> Outcome:
    outcome = take(demo.engine, raw, name, demo.intake_config(), now)
    print("  " + render("cli", demo.settings.lang, part="demo_message", name=name, outcome=outcome))
    return outcome


def _typed(console: Console, line: str) -> None:
    print(f"> {line}")
    console.handle(line)
