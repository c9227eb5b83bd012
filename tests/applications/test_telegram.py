"""Step 4 and 5 through the Telegram adapter, against the loopback Bot API server: an officer confirms one
application and returns another by pressing the inline buttons; an emitter sends its stamped screenshot
as a file."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.chat.files import MAX_FILE_BYTES
from bot.reports import province_report
from mail import intake
from storage import access, outbox
from storage.engine import session_scope
from storage.models import CancellationScreenshot, InboundMessage, OffsetApplication
from tests.applications.forms import application_mail, form_rows
from tests.chat.data import NOW
from tests.chat.harness import CONFIGURED_OFFICER, Person, buttons, context_for, running, shown
from tests.intake.world import CONFIG, CYCLE, SD, SD_UNITS, at, roster_mail, roster_rows
from tests.mail.corpus import XLSX_TYPE, xlsx_bytes
from tests.servers.botapi import BotApiServer
from tests.told import settings_like


def take(engine: Engine, raw: bytes, when: str) -> intake.Outcome:
    return intake.take(engine, raw, "mail.eml", CONFIG, at(when))


async def test_an_officer_decides_by_pressing_the_buttons(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    engine = sqlite_engine
    jinan, qingdao, _ = SD_UNITS
    assert take(engine, roster_mail(SD, SD_UNITS), "2021-10-25T15:00").outcome == "applied"
    take(engine, application_mail("unit1@example.cn", form_rows(jinan, 150_000)), "2021-11-01T10:00")
    take(engine, application_mail("unit2@example.cn", form_rows(qingdao, 600_000)), "2021-11-01T11:00")
    ctx = context_for(engine, botapi)
    officer = Person(botapi, CONFIGURED_OFFICER)
    async with running(ctx):
        queue = await officer.asks("/applications")
        [first] = await officer.presses("application|1", queue.message_id or 0)
        [confirmed] = await officer.presses("confirm_application|1", first.message_id or 0)
        second = await officer.asks("/application 2")
        [reasons] = await officer.presses("return_application|2", second.message_id or 0)
        reason = buttons(reasons)[0][1]
        [returned] = await officer.presses(reason, reasons.message_id or 0)
    assert ("✅ 确认", "confirm_application|1") in buttons(first)
    assert "已记录：已确认" in shown(confirmed) and not buttons(confirmed)
    assert reason.startswith("return_application|2|")
    assert "已记录：已退回" in shown(returned)
    with session_scope(engine) as session:
        decided = {a.id: (a.state, a.decided_by) for a in session.exec(select(OffsetApplication))}
    assert decided == {
        1: ("confirmed", f"telegram:{CONFIGURED_OFFICER}"),
        2: ("returned", f"telegram:{CONFIGURED_OFFICER}"),
    }
    told = {(i.recipient, i.kind) for i in outbox.items(engine)}
    assert {
        ("unit1@example.cn", "application_confirmed"),
        ("unit2@example.cn", "application_returned"),
    } <= told


async def test_an_emitter_sends_its_screenshot_as_a_file(sqlite_engine: Engine, botapi: BotApiServer) -> None:
    engine = sqlite_engine
    qingdao = SD_UNITS[1]
    assert take(engine, roster_mail(SD, SD_UNITS), "2021-10-25T15:00").outcome == "applied"
    with session_scope(engine) as session:
        access.bind(session, 506, "emitter", NOW, unit_code=qingdao.code)
    ctx = context_for(engine, botapi)
    plant = Person(botapi, 506)
    pdf = b"%PDF-1.4\n% stamped\n"
    async with running(ctx):
        before = len(plant._mine())
        botapi.push_document(506, "注销截图.pdf", pdf, mime_type="application/pdf")
        [reply] = await plant._wait(before, 1)
    assert "已收到" in shown(reply) and qingdao.name in shown(reply)
    with session_scope(engine) as session:
        [shot] = session.exec(select(CancellationScreenshot)).all()
        assert (shot.source, shot.data, shot.filename) == ("telegram:506", pdf, "注销截图.pdf")


async def test_an_officer_drops_a_roster_into_the_chat(sqlite_engine: Engine, botapi: BotApiServer) -> None:
    """The roster is taken as the province's mail and the receipt is the answer; the same file again is a
    duplicate; an emitter's spreadsheet is not taken."""
    engine = sqlite_engine
    ctx = context_for(engine, botapi)
    ctx.settings = ctx.settings.model_copy(update={"senders": settings_like(CONFIG).senders})
    with session_scope(engine) as session:
        access.bind(session, 506, "emitter", NOW, unit_code=SD_UNITS[1].code)
    officer, plant = Person(botapi, CONFIGURED_OFFICER), Person(botapi, 506)
    roster = xlsx_bytes(roster_rows(SD_UNITS))
    async with running(ctx):
        replies = []
        for _ in range(2):
            before = len(officer._mine())
            botapi.push_document(CONFIGURED_OFFICER, "山东省名录.xlsx", roster, mime_type=XLSX_TYPE)
            replies += await officer._wait(before, 1)
        before = len(plant._mine())
        botapi.push_document(506, "名录.xlsx", roster, mime_type=XLSX_TYPE)
        [refused] = await plant._wait(before, 1)
        before = len(officer._mine())  # over the Bot API's 20 MB: not fetched, and told so
        botapi.push_document(
            CONFIGURED_OFFICER, "大表.xlsx", b"\0" * (MAX_FILE_BYTES + 1), mime_type=XLSX_TYPE
        )
        [too_large] = await officer._wait(before, 1)
    assert "「大表.xlsx」超过 20 MB，聊天中不接收" in shown(too_large)
    taken, again = (shown(r) for r in replies)
    assert f"按山东省可信发件人（{SD}）发来的邮件处理" in taken and "已应用 3 行。" in taken
    assert "结果：重复邮件，未再处理" in again
    assert "这里只收 CCER 注销截图" in shown(refused)
    with session_scope(engine) as session:
        sources = [m.source for m in session.exec(select(InboundMessage).order_by(InboundMessage.id))]  # type: ignore[arg-type]
    assert sources == [f"chat:telegram:{CONFIGURED_OFFICER}"] * 2
    assert {report.code for report in province_report(engine, CYCLE, "山东省", NOW).units} == {
        u.code for u in SD_UNITS
    }
