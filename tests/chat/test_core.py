"""The chat core every adapter calls: a command declared once reaches every platform, a chat is
(platform, id), and one person bound on several platforms is answered alike on each."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from telegram.ext import ApplicationBuilder, CommandHandler

from bot.chat import commands, core
from bot.chat.reply import Reply, plain_text
from bot.config import Settings
from bot.console import PEER, console_chat
from bot.context import AppContext
from bot.reports import no_unit, unit_report
from bot.telegram.app import register_handlers
from bot.telling import Telling
from compliance.creditcode import make_code
from storage import access
from storage.engine import session_scope
from storage.models import ChatBinding
from storage.peer import Peer
from templates import label
from tests.chat.data import GUANGDONG, NOW, SHANDONG, Cast

FEISHU = Peer("feishu", "ou_7d8a6e6df7621556ce0d21922b676706ccs")
DINGTALK = Peer("dingtalk", "manager4220")
TELEGRAM = Peer("telegram", "4242")


@pytest.fixture
def ctx(sqlite_engine: Engine, story: Cast) -> AppContext:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    return AppContext(Settings(cycle="2019-2020", database_url=url))


def said(reply: Reply) -> str:
    return plain_text(reply.text)


def test_telegram_registers_a_handler_for_every_command_of_the_table() -> None:
    application = ApplicationBuilder().token("1:test").build()
    register_handlers(application)
    registered = {
        name for handler in application.handlers[0] if isinstance(handler, CommandHandler)
        for name in handler.commands
    }  # fmt: skip
    assert registered == set(commands.BY_NAME) == set(commands.VIEWS)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_menu_command_has_a_label(lang: str) -> None:
    for command in commands.MENU:
        assert label("chat_command", command.label_key, lang).strip(), command.name
    assert "start" not in {c.name for c in commands.MENU}


def test_who_may_use_what_comes_from_the_table() -> None:
    officer = access.Identity(TELEGRAM, "officer", None, SHANDONG, "zh")
    emitter = access.Identity(TELEGRAM, "emitter", "x", None, "zh")
    assert commands.usable(None) == {"start", "help", "bind", "unbind", "lang", "contacts"}
    assert commands.usable(emitter) == commands.usable(None) | {"status", "deadlines"}
    assert commands.usable(officer) == set(commands.BY_NAME)
    assert commands.is_slow("bind", None) and commands.is_slow("help", officer)
    assert not commands.is_slow("status", emitter) and not commands.is_slow("nonsense", None)


def test_one_person_bound_on_several_platforms_is_answered_alike(ctx: AppContext, story: Cast) -> None:
    with session_scope(ctx.engine) as session:
        for peer in (FEISHU, TELEGRAM):
            access.bind(session, peer, "emitter", NOW, unit_code=story.applied)
    answers = {said(core.answer_text(ctx, peer, "我还要注销多少？", NOW)) for peer in (FEISHU, TELEGRAM)}
    assert len(answers) == 1 and "尚需注销：400 吨" in answers.pop()
    with session_scope(ctx.engine) as session:
        chats = sorted((c.platform, c.chat_id) for c in access.chats_for_unit(session, story.applied))
    assert chats == [("feishu", FEISHU.id), ("telegram", TELEGRAM.id)]


def test_a_binding_is_the_platforms_own(ctx: AppContext, story: Cast) -> None:
    """The same id on another platform is another chat: bound on DingTalk is not bound on Feishu."""
    with session_scope(ctx.engine) as session:
        access.bind(session, DINGTALK, "officer", NOW, province=GUANGDONG)
    elsewhere = Peer("feishu", DINGTALK.id)
    assert "广东省" in said(core.answer_text(ctx, DINGTALK, "/overview", NOW))
    refused = said(core.answer_text(ctx, elsewhere, "/overview", NOW))
    assert "/bind" in refused and "广东省" not in refused


def test_a_button_is_answered_as_the_words_it_stands_for(ctx: AppContext, story: Cast) -> None:
    with session_scope(ctx.engine) as session:
        access.bind(session, FEISHU, "officer", NOW, province=SHANDONG)
    typed = core.answer_text(ctx, FEISHU, "/pending", NOW)
    pressed = core.answer_button(ctx, FEISHU, "pending", NOW)
    assert typed == pressed and "待确认申请：2 家" in said(typed)
    assert core.is_slow(ctx, FEISHU, "/pending") and core.is_slow(ctx, FEISHU, "pending|2", button=True)
    assert not core.is_slow(ctx, Peer("feishu", "stranger"), "/status")


def test_binding_by_code_on_a_new_platform(ctx: AppContext, story: Cast) -> None:
    with session_scope(ctx.engine) as session:
        plain = access.new_code(session, role="emitter", unit_code=story.pending, now=NOW)
    assert "绑定成功" in said(core.answer_text(ctx, DINGTALK, f"/bind {plain}", NOW))
    with session_scope(ctx.engine) as session:
        who = access.identity(session, DINGTALK)
        assert who is not None and (who.peer, who.unit_code) == (DINGTALK, story.pending)
        assert access.identity(session, Peer("telegram", DINGTALK.id)) is None
    assert "已解除绑定" in said(core.answer_text(ctx, DINGTALK, "/unbind", NOW))


def test_the_console_is_a_chat_of_its_own_platform(ctx: AppContext, tmp_path: Path) -> None:
    with session_scope(ctx.engine) as session:
        plain = access.new_code(session, role="officer", province=SHANDONG, now=NOW)
    console_chat(ctx, stdin=StringIO(f"/bind {plain}\n"), stdout=StringIO(), now=NOW, files=tmp_path)
    with session_scope(ctx.engine) as session:
        rows = [(b.platform, b.chat_id) for b in session.exec(select(ChatBinding))]
    assert rows == [(PEER.platform, PEER.id)] and PEER.platform == "console"


def test_a_missing_unit_has_one_contract(ctx: AppContext, story: Cast) -> None:
    """No roster lists it: the report is None; the chat says so, the command line raises why."""
    nobody = make_code("91370100MA3C99999")
    assert unit_report(ctx.engine, ctx.cycle, nobody, NOW) is None
    assert unit_report(ctx.engine, ctx.cycle, story.applied, NOW) is not None
    error = no_unit(ctx.engine, ctx.cycle, nobody, NOW)
    assert isinstance(error, Telling) and nobody in str(error)
    with session_scope(ctx.engine) as session:
        access.bind(session, FEISHU, "emitter", NOW, unit_code=nobody)
    assert "名录中还没有这家单位的数据" in said(core.answer_text(ctx, FEISHU, "/status", NOW))
