"""The bot through python-telegram-bot, against a Bot API server on loopback."""

from __future__ import annotations

import asyncio
import logging
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from bot.chat.reply import MAX_TEXT, Reply
from bot.config import SmtpConfig
from bot.context import AppContext
from bot.telegram.polling import run_polling_until
from bot.telegram.send import send_reply
from storage import access, outbox
from storage.engine import session_scope
from tests.chat.data import NOW, SHANDONG, Cast
from tests.chat.harness import CONFIGURED_OFFICER, Person, buttons, context_for, running, shown
from tests.servers.botapi import BotApiServer


@pytest.fixture
def ctx(sqlite_engine: Engine, story: Cast, botapi: BotApiServer) -> AppContext:
    return context_for(sqlite_engine, botapi)


async def test_a_stranger_learns_how_to_bind_and_nothing_else(ctx: AppContext, botapi: BotApiServer) -> None:
    stranger = Person(botapi, 501)
    async with running(ctx):
        welcome = await stranger.asks("/start")
        refused = await stranger.asks(f"/overview {SHANDONG}")
        status = await stranger.asks("状态")
    assert welcome.parse_mode == "HTML" and "/bind 统一社会信用代码" in shown(welcome)
    for reply in (refused, status):
        assert "本聊天尚未绑定" in shown(reply) and "山东" not in shown(reply)


async def test_an_emitter_binds_with_a_code_and_asks_where_it_stands(
    ctx: AppContext, sqlite_engine: Engine, story: Cast, botapi: BotApiServer
) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="emitter", unit_code=story.applied, now=NOW)
    plant = Person(botapi, 502)
    async with running(ctx):
        bound = await plant.asks(f"/bind {plain}")
        status = await plant.asks("我的状态")
        [calendar] = await plant.presses("deadlines", status.message_id or 0)
        again = await plant.asks(f"/bind {plain}")
    assert "绑定成功：华能济宁电厂 <A&B>" in shown(bound)
    assert "<b>华能济宁电厂 &lt;A&amp;B&gt;</b>" in (status.text or "")
    assert "尚需注销：400 吨" in shown(status) and "还剩 6 天 8 小时" in shown(status)
    assert buttons(status) == [("📋 我的状态", "status"), ("📅 日程", "deadlines")]
    assert calendar.method == "editMessageText" and calendar.params["message_id"] == status.message_id
    assert "本单位：已注销 600 吨 / 确认 1,000 吨" in shown(calendar)
    assert "绑定码无效、已使用或已过期" in shown(again)


async def test_binding_by_credit_code_goes_through_the_outbox(
    ctx: AppContext, sqlite_engine: Engine, story: Cast, botapi: BotApiServer
) -> None:
    ctx.settings.smtp = SmtpConfig(host="127.0.0.1", port=2525, security="none")  # the outbox mails it
    async with running(ctx):
        reply = await Person(botapi, 503).asks(f"/bind {story.applied}")
        unknown = await Person(botapi, 505).asks("/bind 91370100MA3C99999D")
    # the same words whether the unit exists or not, and no trace of its address
    assert shown(reply) == shown(unknown) and "@" not in shown(reply)
    [item] = outbox.items(sqlite_engine)
    assert item.channel == "email" and item.recipient == story.email and "/bind " in item.body


async def test_without_smtp_binding_by_email_is_said_to_be_unavailable(
    ctx: AppContext, sqlite_engine: Engine, story: Cast, botapi: BotApiServer
) -> None:
    async with running(ctx):
        reply = await Person(botapi, 506).asks(f"/bind {story.applied}")
    assert "无法通过邮件绑定" in shown(reply) and "ccerbot invite --unit" in shown(reply)
    assert outbox.items(sqlite_engine) == []


async def test_guessing_codes_is_throttled(ctx: AppContext, botapi: BotApiServer) -> None:
    guesser = Person(botapi, 504)
    async with running(ctx):
        tries = range(access.MAX_FAILURES_PER_HOUR + 1)
        answers = [shown(await guesser.asks(f"/bind GUESS{n:03d}")) for n in tries]
    assert all("无效" in a for a in answers[:-1])
    assert "尝试次数过多" in answers[-1]


async def test_a_configured_officer_moves_between_views(ctx: AppContext, botapi: BotApiServer) -> None:
    officer = Person(botapi, CONFIGURED_OFFICER)
    async with running(ctx):
        overview = await officer.asks("/overview")
        mid = overview.message_id or 0
        [pending] = await officer.presses(f"pending|{SHANDONG}", mid)
        [at_step] = await officer.presses(f"pending|{SHANDONG}|await_confirmation", mid)
        [anomalies] = await officer.presses(f"anomalies|{SHANDONG}", mid)
        [unmatched] = await officer.presses(f"unmatched|{SHANDONG}", mid)
        [quarantine] = await officer.presses("quarantine", mid)
        unit = await officer.asks("/unit 济宁")
        [document] = await officer.presses(f"export|{SHANDONG}", mid)
        [photo] = await officer.presses(f"chart|{SHANDONG}", mid)
    assert "重点排放单位 5 家，已完成履约 1 家，完成率 20.0%" in shown(overview)
    assert ("📥 导出 Excel", f"export|{SHANDONG}") in buttons(overview)
    assert pending.method == "editMessageText" and "待确认申请：2 家" in shown(pending)
    assert "山东日照发电有限公司" in shown(at_step) and "青岛热电集团" in shown(at_step)
    assert "超过应清缴配额量的 5%" in shown(anomalies)
    assert "某某新能源有限公司" in shown(unmatched)
    assert "附件无法读取" in shown(quarantine)
    assert "联系人邮箱：tang.li@shandong-power.example" in shown(unit)
    assert document.method == "sendDocument" and document.file_name == f"{SHANDONG}-20211209-0900.xlsx"
    assert "5 家重点排放单位" in shown(document)
    rows = list(load_workbook(BytesIO(document.file_bytes or b"")).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(rows) == 6
    assert photo.method == "sendPhoto" and (photo.file_bytes or b"").startswith(b"\x89PNG")
    assert "当前 20.0%" in shown(photo)


async def test_a_national_officer_picks_a_province(
    ctx: AppContext, sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="officer", province="*", now=NOW)
    national = Person(botapi, 505)
    async with running(ctx):
        await national.asks(f"/bind {plain}")
        picker = await national.asks("/overview")
        [canton] = await national.presses("overview|广东省", picker.message_id or 0)
    assert buttons(picker) == [("山东省", "overview|山东省"), ("广东省", "overview|广东省")]
    assert "广东省履约概况" in shown(canton) and "重点排放单位 1 家" in shown(canton)


async def test_an_emitter_cannot_reach_officer_views_by_crafted_buttons(
    ctx: AppContext, sqlite_engine: Engine, story: Cast, botapi: BotApiServer
) -> None:
    with session_scope(sqlite_engine) as session:
        access.bind(session, 506, "emitter", NOW, unit_code=story.pending)
    plant = Person(botapi, 506)
    async with running(ctx):
        status = await plant.asks("/status")
        [crafted] = await plant.presses(f"export|{SHANDONG}", status.message_id or 0)
        status = await plant.asks("/status")
        [other_unit] = await plant.presses(f"unit|{story.applied}", status.message_id or 0)
    for reply in (crafted, other_unit):
        assert "仅供主管部门" in shown(reply) and "华能" not in shown(reply)
    assert not [c for c in botapi.sent if c.method == "sendDocument"]


async def test_the_language_switches_to_english(ctx: AppContext, story: Cast, botapi: BotApiServer) -> None:
    officer = Person(botapi, CONFIGURED_OFFICER)
    async with running(ctx):
        switched = await officer.asks("/lang en")
        overview = await officer.asks("/overview")
        back = await officer.asks("/lang zh")
    assert "Switched to English" in shown(switched)
    assert "5 key emitting units, 1 complied: 20.0%" in shown(overview)
    assert ("📥 Export xlsx", f"export|{SHANDONG}") in buttons(overview)
    assert "已切换为中文" in shown(back)


async def test_the_command_menu_is_set_in_both_languages(ctx: AppContext, botapi: BotApiServer) -> None:
    async with running(ctx) as application:
        zh = await application.bot.get_my_commands()
        en = await application.bot.get_my_commands(language_code="en")
    assert ("status", "本单位的履约进度（主管部门：概况）") in [(c.command, c.description) for c in zh]
    assert ("export", "Every unit as xlsx") in [(c.command, c.description) for c in en]


async def test_a_reply_survives_telegrams_flood_control(ctx: AppContext, botapi: BotApiServer) -> None:
    botapi.fail_next("sendMessage", status=429, retry_after=1)
    async with running(ctx):
        reply = await Person(botapi, 507).asks("/start")
    assert "/bind" in shown(reply)
    assert [c.status for c in botapi.calls if c.method == "sendMessage"] == [429, 200]


async def test_long_replies_are_split_and_bad_formatting_falls_back_to_plain(
    ctx: AppContext, botapi: BotApiServer
) -> None:
    lines = [f"<b>{n:04d}</b> 某某电厂有限公司 尚需注销 1,000 吨" for n in range(300)]
    async with running(ctx) as application:
        await send_reply(application.bot, 508, Reply("\n".join(lines)))
        await send_reply(application.bot, 508, Reply("<b>未闭合的标签 & 1 < 2"))
    calls = [c for c in botapi.calls if c.method == "sendMessage"]
    delivered = [c for c in calls if c.status == 200]
    assert len(delivered) >= 3 and all(len(c.text or "") <= MAX_TEXT for c in delivered)
    assert "\n".join(shown(c) for c in delivered[:-1]).count("某某电厂") == 300
    assert calls[-2].status == 400 and "can't parse entities" in (calls[-2].description or "")
    assert calls[-1].status == 200 and calls[-1].parse_mode is None
    assert calls[-1].text == "未闭合的标签 & 1 < 2"


async def test_a_second_poller_stops_with_one_clear_line(
    ctx: AppContext, botapi: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.telegram.app import build_application

    caplog.set_level(logging.ERROR, logger="ccerbot.telegram")
    applications = [build_application(ctx, clock=lambda: NOW) for _ in range(2)]
    stops = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(run_polling_until(a, s)) for a, s in zip(applications, stops, strict=True)]
    done, _ = await asyncio.wait(tasks, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    [ended] = done
    assert ended.result() == "conflict"
    survivor = tasks[1 - tasks.index(ended)]
    reply = await Person(botapi, 509).asks("/start")  # the other one still answers
    stops[tasks.index(survivor)].set()
    assert await survivor == "stopped"
    assert "/bind" in shown(reply)
    conflicts = [r for r in caplog.records if "另一个进程正在使用此令牌轮询" in r.getMessage()]
    assert len(conflicts) == 1


async def test_polling_refuses_to_fight_a_webhook(ctx: AppContext, botapi: BotApiServer) -> None:
    from bot.telegram.app import build_application

    application = build_application(ctx, clock=lambda: NOW)
    async with application:
        await application.bot.set_webhook("https://bot.example/hook")
    assert await run_polling_until(application, asyncio.Event()) == "conflict"
