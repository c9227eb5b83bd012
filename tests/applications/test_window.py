"""The province's step 4 through real servers, as `ccerbot run` does it: emitters email their 申请表 to the
intake mailbox (Dovecot, read by the IMAP intake in the worker process) — some wrong: over the cap, a
vintage after the cut-off, a unit no roster lists, a stranger's second one for a unit already waiting —;
officers decide in the console and in Telegram (buttons, through the loopback Bot API); the Friday summary
is composed, approved, delivered to the SMTP sink, appended into the intake mailbox as the copy the bot
receives and read back; NCSC's daily lists follow, one of them cumulative. Every unit ends as the
decisions and the lists say, nothing counted twice.

(No bundled cycle lists excluded projects, so no application here can fail that check.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import OfficerConfig, Settings, SmtpConfig, TelegramConfig
from bot.console import console_chat
from bot.context import AppContext
from bot.notices.applications_summary import friday
from bot.sender.email import EmailChannel
from compliance.creditcode import make_code
from compliance.cycle import load_cycle
from mail.imap_source import ImapIntake
from mail.intake import IntakeConfig, Outcome
from storage import outbox
from storage.engine import session_scope
from storage.models import OffsetApplication
from tests.applications.forms import application_mail, form_rows
from tests.chat.harness import CONFIGURED_OFFICER, Person, buttons, running, shown
from tests.intake.world import (
    CONFIG,
    NCSC,
    SD,
    SD_UNITS,
    Unit,
    at,
    daily_rows,
    daily_subject,
    roster_rows,
    status,
    xlsx_mail,
)
from tests.intake_imap.conftest import settings_for
from tests.reminders.helpers import sender, settle
from tests.servers.botapi import BotApiServer
from tests.servers.dovecot import Dovecot, ImapAccount
from tests.servers.smtp import SmtpServer
from tests.told import settings_like

CYCLE = load_cycle("2019-2020")
BOT = "bot@example.cn"
STRANGER = "agent@consulting.example"
JINAN, QINGDAO, YANTAI = SD_UNITS
WEIFANG = Unit("山东省", "潍坊测试热电有限公司", make_code("91370700MA3C00006"), "371000000006", 3_000_000)
UNITS = [JINAN, QINGDAO, YANTAI, WEIFANG]
RIZHAO = Unit("山东省", "日照未列名能源有限公司", make_code("91371100MA3C00007"), "371000000007", 1_000_000)
LATE_VINTAGE = [("0211", "某风电场项目", "2016-01-01至2017-06-30", 80_000)]


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Decision:
    unit: Unit
    requested: int
    state: str  # what the officer decides: confirmed | returned | pending (left waiting)


# the applications that reach the officers, in the order they arrive, and what the officers make of them
DECIDED = [
    Decision(JINAN, 150_000, "confirmed"),  # console
    Decision(QINGDAO, 600_000, "returned"),  # over the cap (5 % of 10,000,000): Telegram
    Decision(YANTAI, 80_000, "returned"),  # a vintage after the cut-off: console
    Decision(RIZHAO, 50_000, "returned"),  # no roster lists the unit: Telegram
    Decision(WEIFANG, 120_000, "pending"),  # not decided by Friday
    Decision(QINGDAO, 400_000, "confirmed"),  # corrected and sent again: Telegram
]
# NCSC's lists: (day, [(unit, first serial, quantity)]); the second repeats the first's records
DAY1 = [(JINAN, 1_000_001, 150_000), (QINGDAO, 2_000_001, 200_000)]
DAY2 = [*DAY1, (QINGDAO, 2_200_001, 200_000)]
LISTS = [("2021-11-08", DAY1), ("2021-11-09", DAY2)]


def contact(unit: Unit) -> str:
    """The unit's contact address on the roster (roster_rows numbers them in order)."""
    return f"unit{UNITS.index(unit) + 1}@example.cn" if unit in UNITS else "office@rizhao.example"


def roster() -> bytes:
    return xlsx_mail(SD, "山东省2019-2020年度重点排放单位名录", "2021-10-25T15:00", roster_rows(UNITS))


def context(engine: Engine, botapi: BotApiServer, smtp: SmtpServer) -> AppContext:
    settings: Settings = settings_like(
        CONFIG,
        database_url=engine.url.render_as_string(hide_password=False),
        applications={"summary_cc": [BOT]},
        smtp=SmtpConfig(host=smtp.host, port=smtp.port, security="none", sender=BOT),
        telegram=TelegramConfig(
            base_url=botapi.base_url, base_file_url=botapi.base_file_url, token=SecretStr(botapi.token)
        ),
        officers=[OfficerConfig(telegram_id=CONFIGURED_OFFICER, province="山东省")],
    )
    return AppContext(settings)


def console(ctx: AppContext, lines: list[str], when: datetime, files: Path) -> str:
    out = StringIO()
    stdin = StringIO("\n".join(["/as officer 山东省", *lines]) + "\n")
    console_chat(ctx, stdin=stdin, stdout=out, now=when, files=files)
    return out.getvalue()


def application_ids(engine: Engine) -> list[tuple[int, str | None, int | None]]:
    with session_scope(engine) as session:
        query = select(OffsetApplication).order_by(OffsetApplication.id)  # type: ignore[arg-type]
        return [(a.id or 0, a.code, a.requested_t) for a in session.exec(query)]


class Mailbox:
    """The intake mailbox on Dovecot, and the IMAP intake that `ccerbot run` runs on it."""

    def __init__(self, dovecot: Dovecot, account: ImapAccount, engine: Engine, config: IntakeConfig) -> None:
        self.dovecot, self.account, self.engine, self.config = dovecot, account, engine, config
        self.intake = ImapIntake(settings_for(account))

    async def deliver(self, clock: Clock, *raws: bytes) -> list[Outcome]:
        for raw in raws:
            self.dovecot.append(self.account.user, raw)
        return await asyncio.to_thread(self.intake.run_once, self.engine, self.config, clock)


async def decide_in_telegram(officer: Person, application: int, confirm: bool) -> str:
    shown_ = await officer.asks(f"/application {application}")
    if confirm:
        [done] = await officer.presses(f"confirm_application|{application}", shown_.message_id or 0)
        return shown(done)
    [reasons] = await officer.presses(f"return_application|{application}", shown_.message_id or 0)
    [done] = await officer.presses(buttons(reasons)[0][1], reasons.message_id or 0)
    return shown(done)


async def test_the_window_through_dovecot_telegram_and_smtp(
    sqlite_engine: Engine,
    dovecot: Dovecot,
    imap_account: ImapAccount,
    botapi: BotApiServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    engine = sqlite_engine
    ctx = context(engine, botapi, smtp_server)
    clock = Clock(at("2021-10-25T15:00"))
    mailbox = Mailbox(dovecot, imap_account, engine, ctx.intake_config(sandboxed=True))
    try:
        await _window(ctx, engine, clock, mailbox, botapi, smtp_server, tmp_path)
    finally:
        ctx.close_sandbox()


async def _window(
    ctx: AppContext,
    engine: Engine,
    clock: Clock,
    mailbox: Mailbox,
    botapi: BotApiServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    assert await mailbox.deliver(clock) == []  # a new mailbox: taken from now on
    [taken] = await mailbox.deliver(clock, roster())
    assert (taken.kind, taken.outcome, taken.rows_applied) == ("roster", "applied", len(UNITS))

    # the first five applications arrive by mail; a stranger's for 青岛, already waiting, is kept aside
    clock.now = at("2021-11-01T10:00")
    first = [
        application_mail(
            contact(d.unit), form_rows(d.unit, d.requested, LATE_VINTAGE if d.unit is YANTAI else None)
        )
        for d in DECIDED[:5]
    ]
    stranger = application_mail(STRANGER, form_rows(QINGDAO, 300_000))
    outcomes = await mailbox.deliver(clock, *first, stranger)
    assert [o.outcome for o in outcomes] == ["received"] * 5 + ["held"]
    ids = [i for i, _, _ in application_ids(engine)]
    assert [(c, r) for _, c, r in application_ids(engine)] == [
        (d.unit.code, d.requested) for d in DECIDED[:5]
    ]

    # decisions: 济南 and 烟台 in the console, 青岛 and 日照 in Telegram
    out = console(ctx, [f"/confirm_application {ids[0]}", f"/return_application {ids[2]}", "1"],
                  at("2021-11-02T09:00"), tmp_path)  # fmt: skip
    assert "已记录：已确认" in out and "已记录：已退回" in out
    officer = Person(botapi, CONFIGURED_OFFICER)
    clock.now = at("2021-11-02T10:00")
    async with running(ctx, clock=clock):
        assert "已记录：已退回" in await decide_in_telegram(officer, ids[1], confirm=False)
        assert "已记录：已退回" in await decide_in_telegram(officer, ids[3], confirm=False)

        # 青岛 sends a corrected form; confirmed in Telegram
        clock.now = at("2021-11-03T10:00")
        [again] = await mailbox.deliver(
            clock, application_mail(contact(QINGDAO), form_rows(QINGDAO, 400_000))
        )
        assert again.outcome == "received"
        ids.append(again.applications[0])
        clock.now = at("2021-11-03T11:00")
        assert "已记录：已确认" in await decide_in_telegram(officer, ids[5], confirm=True)

        # Friday: composed at 09:00, approved in Telegram by its button
        clock.now = at("2021-11-05T09:30")
        assert friday(engine, ctx.settings, CYCLE, clock.now) > 0
        clock.now = at("2021-11-05T10:00")
        summary = await officer.asks("/summary")
        [send] = [data for _, data in buttons(summary) if data.startswith("send_summary|")]
        [sent_reply] = await officer.presses(send, summary.message_id or 0)
        assert "已排队发送至 registry@ccersc.org.cn" in shown(sent_reply)
    with session_scope(engine) as session:
        states = {a.id: a.state for a in session.exec(select(OffsetApplication))}
    assert [states[i] for i in ids] == [d.state for d in DECIDED]

    # delivered through SMTP, to NCSC with the bot in copy; the copy reaches the intake mailbox
    keys = [i.key for i in outbox.items(engine) if i.kind == "weekly_summary"]
    channels = {"email": EmailChannel(ctx.settings.smtp)}  # type: ignore[arg-type]
    assert await settle(sender(engine, channels), keys) == {keys[0]: "sent"}
    [sent] = [m for m in smtp_server.messages if "汇总表" in m.subject]
    assert sent.mail_from == SD and {NCSC, BOT} <= set(sent.rcpt_tos)
    clock.now = at("2021-11-05T10:05")
    back, twice = await mailbox.deliver(clock, sent.raw, sent.raw)  # the copy, and the same bytes again
    assert (back.kind, back.outcome) == ("weekly_summary", "applied")
    assert twice.outcome == "duplicate"

    # NCSC's daily lists; the second repeats the first's records
    for day, entries in LISTS:
        clock.now = at(f"{day}T18:00")
        rows = daily_rows([(f"{day} 10:00", u.name, u.code, serial, q) for u, serial, q in entries])
        [listed] = await mailbox.deliver(
            clock, xlsx_mail(NCSC, daily_subject("山东省", day), f"{day}T17:40", rows)
        )
        assert (listed.kind, listed.outcome) == ("cancellation_list", "applied")

    # every unit as its latest decision and the lists say, each record once
    records = {(u.code, serial): q for _, entries in LISTS for u, serial, q in entries}
    applied = {"confirmed": "confirmed", "returned": "rejected", "pending": "pending"}
    later = at("2021-11-10T09:00")
    for unit in UNITS:
        latest = [d for d in DECIDED if d.unit is unit][-1]
        s = status(engine, unit, later).status
        assert (s.application, s.requested_t, s.confirmed_t or 0, s.cancelled_t) == (
            applied[latest.state],
            latest.requested,
            latest.requested if latest.state == "confirmed" else 0,
            sum(q for (code, _), q in records.items() if code == unit.code),
        ), unit.name
