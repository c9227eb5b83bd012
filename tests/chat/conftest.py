from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from bot.chat.core import ask, parse_text
from bot.chat.reply import Reply, plain_text
from compliance.cycle import Cycle, load_cycle
from storage.access import Identity
from storage.peer import Peer, as_peer
from tests.chat.data import NOW, SHANDONG, Cast, populate

Ask = Callable[..., Reply]


@pytest.fixture
def cycle() -> Cycle:
    return load_cycle("2019-2020")


@pytest.fixture
def story(sqlite_engine: Engine) -> Cast:
    return populate(sqlite_engine)


def chat_on(engine: Engine, cycle: Cycle) -> Ask:
    """chat(chat_id, "/command args", as_=Identity|None, now=NOW) -> Reply, as the views answer it."""

    def send(chat_id: Peer | int, text: str, as_: Identity | None = None, now: datetime = NOW) -> Reply:
        command, args = parse_text(text)
        return ask(engine, cycle, chat_id, command, args, now, as_)

    return send


@pytest.fixture
def chat(sqlite_engine: Engine, cycle: Cycle, story: Cast) -> Ask:
    return chat_on(sqlite_engine, cycle)


def emitter(code: str, chat_id: int = 11) -> Identity:
    return Identity(as_peer(chat_id), "emitter", code, None, "zh")


def officer(province: str = SHANDONG, chat_id: int = 21) -> Identity:
    return Identity(as_peer(chat_id), "officer", None, province, "zh")


def words(reply: Reply) -> str:
    return plain_text(reply.text)


def buttons(reply: Reply) -> list[tuple[str, str]]:
    return [(b.label, b.data) for row in reply.keyboard for b in row]
