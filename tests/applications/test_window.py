"""A small application window, end to end: emitters email their 申请表 (one wrong), officers decide in the
console, the Friday summary is composed, approved, delivered to the SMTP sink, read back by intake, and
every unit ends in the state the decisions say — with nothing counted twice."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.config import Settings, SmtpConfig
from bot.console import console_chat
from bot.context import AppContext
from bot.notices.applications_summary import friday
from bot.sender.email import EmailChannel
from compliance.cycle import load_cycle
from mail import intake
from storage import outbox
from tests.applications.forms import application_mail, form_rows
from tests.intake.world import CONFIG, SD, SD_UNITS, at, roster_mail, status
from tests.reminders.helpers import sender, settle
from tests.servers.smtp import SmtpServer
from tests.told import settings_like

CYCLE = load_cycle("2019-2020")
FRIDAY_MORNING = at("2021-11-05T09:30")
BOT = "bot@example.cn"


def take(engine: Engine, raw: bytes, when: str) -> intake.Outcome:
    return intake.take(engine, raw, "mail.eml", CONFIG, at(when))


def talk(ctx: AppContext, lines: list[str], when: str, files: Path) -> str:
    out = StringIO()
    console_chat(ctx, stdin=StringIO("\n".join(lines) + "\n"), stdout=out, now=at(when), files=files)
    return out.getvalue()


async def test_a_whole_small_window(sqlite_engine: Engine, smtp_server: SmtpServer, tmp_path: Path) -> None:
    engine = sqlite_engine
    settings: Settings = settings_like(
        CONFIG,
        database_url=engine.url.render_as_string(hide_password=False),
        applications={"summary_cc": [BOT]},
        smtp=SmtpConfig(host=smtp_server.host, port=smtp_server.port, security="none", sender=BOT),
    )
    ctx = AppContext(settings)
    jinan, qingdao, yantai = SD_UNITS
    assert take(engine, roster_mail(SD, SD_UNITS), "2021-10-25T15:00").outcome == "applied"
    # three applications: one right, one over the cap (5 % of 10,000,000), one corrected after its return
    take(engine, application_mail("unit1@example.cn", form_rows(jinan, 150_000)), "2021-11-01T10:00")
    take(engine, application_mail("unit2@example.cn", form_rows(qingdao, 600_000)), "2021-11-01T11:00")
    before = status(engine, jinan, at("2021-11-04T09:00"))
    assert before.status.application == "none"  # proposals change no state

    out = talk(ctx, ["/as officer 山东省", "/applications", "/application 2", "/confirm_application 1",
                     "/return_application 2", "1"], "2021-11-02T09:00", tmp_path)  # fmt: skip
    assert "待确认 2 份" in out
    assert "✘ 申请抵销量不超过应清缴配额量的 5%（上限 500,000 吨）" in out
    assert "已记录：已确认，并已通知该单位。" in out
    assert "已记录：已退回" in out  # the first reason offered: over the cap

    told = {(i.recipient, i.kind) for i in outbox.items(engine)}
    assert ("unit1@example.cn", "application_confirmed") in told
    assert ("unit2@example.cn", "application_returned") in told
    returned = next(i for i in outbox.items(engine) if i.kind == "application_returned")
    assert "申请抵销量超过应清缴配额量的 5%" in returned.body and "重新提交" in returned.body

    # corrected and sent again while the window is open; confirmed
    take(engine, application_mail("unit2@example.cn", form_rows(qingdao, 400_000)), "2021-11-03T10:00")
    out = talk(ctx, ["/as officer 山东省", "/confirm_application 3"], "2021-11-03T11:00", tmp_path)
    assert "已记录：已确认" in out

    # Friday: composed, shown, approved, sent
    assert friday(engine, settings, CYCLE, FRIDAY_MORNING) > 0
    out = talk(ctx, ["/as officer 山东省", "/summary", "1"], "2021-11-05T10:00", tmp_path)
    assert "2 家单位" in out and "已排队发送至 registry@ccersc.org.cn" in out
    keys = [i.key for i in outbox.items(engine) if i.kind == "weekly_summary"]
    channels = {"email": EmailChannel(settings.smtp)}  # type: ignore[arg-type]
    assert await settle(sender(engine, channels), keys) == {keys[0]: "sent"}
    [sent] = [m for m in smtp_server.messages if "汇总表" in m.subject]
    assert sent.mail_from == SD and "registry@ccersc.org.cn" in sent.rcpt_tos and BOT in sent.rcpt_tos
    assert next(p.get_filename() for p in sent.message.iter_attachments()).endswith(".xlsx")

    # read back by intake from the province's trusted address: the units' states follow the decisions
    back = take(engine, sent.raw, "2021-11-05T10:05")
    assert (back.kind, back.outcome, back.rows_applied) == ("weekly_summary", "applied", 2)
    assert take(engine, sent.raw, "2021-11-05T10:06").outcome == "duplicate"
    later = at("2021-11-06T09:00")
    assert (
        status(engine, jinan, later).status.application,
        status(engine, jinan, later).status.confirmed_t,
    ) == (
        "confirmed",
        150_000,
    )
    assert status(engine, qingdao, later).status.confirmed_t == 400_000  # the corrected one, once
    assert status(engine, yantai, later).status.application == "none"
    # no reminder at 15:00: it has been sent
    assert friday(engine, settings, CYCLE, at("2021-11-05T15:30")) == 0
