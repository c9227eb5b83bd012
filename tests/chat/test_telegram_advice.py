"""/contacts, /national and questions typed in words, through python-telegram-bot and a loopback Bot API."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.context import AppContext
from storage import access
from storage.engine import session_scope
from tests.chat.data import NOW, Cast
from tests.chat.harness import Person, buttons, context_for, running, shown
from tests.servers.botapi import BotApiServer


@pytest.fixture
def ctx(sqlite_engine: Engine, story: Cast, botapi: BotApiServer) -> AppContext:
    return context_for(sqlite_engine, botapi)


async def test_contacts_national_and_questions_in_telegram(
    ctx: AppContext, sqlite_engine: Engine, story: Cast, botapi: BotApiServer
) -> None:
    with session_scope(sqlite_engine) as session:
        access.bind(session, 601, "officer", NOW, province="*")
        access.bind(session, 602, "emitter", NOW, unit_code=story.applied)
    national, plant = Person(botapi, 601), Person(botapi, 602)
    async with running(ctx) as application:
        contacts = await plant.asks("/contacts")
        ranking = await national.asks("/national")
        asked = await plant.asks("我还要注销多少？")
        typo = await plant.asks("/stauts")
        menu = await application.bot.get_my_commands()
    assert "400-991-1188" in shown(contacts)
    assert shown(ranking).index("广东省") < shown(ranking).index("山东省")
    assert ("广东省", "overview|广东省") in buttons(ranking)
    assert "尚需注销：400 吨" in shown(asked)
    assert buttons(typo) == [("/status", "status")]
    assert {"contacts", "national"} <= {c.command for c in menu}
