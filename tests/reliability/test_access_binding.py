"""Binding codes: single-use even when two chats race for one, guessing throttled even when a chat sends
its guesses all at once, and a used code is spent for good."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.chat.core import ask
from bot.chat.reply import plain_text
from bot.config import Settings, TelegramConfig
from bot.context import AppContext
from bot.telegram.app import build_application
from bot.telegram.polling import run_polling_until
from compliance.cycle import load_cycle
from storage import access
from storage.engine import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import BindAttempt
from tests.db import skip_without_postgres
from tests.reliability.conftest import postgres_schema
from tests.reliability.harness import UNITS, wait_until
from tests.servers.botapi import BotApiServer

NOW = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
CYCLE = load_cycle("2019-2020")
NINGBO = UNITS["宁波北仑热电有限公司"]
GUARD_S = 30.0  # a guard against a hung test, not a measurement


def blocked_on_a_lock(engine: Engine) -> bool:
    """Some other session of this database waits for a row lock on a one-time code."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND pid <> pg_backend_pid() AND query ILIKE '%onetimecode%'"
    )
    with engine.connect() as connection:
        return bool(connection.execute(query).scalar())


@pytest.mark.postgres
def test_one_code_redeemed_by_two_chats_at_the_same_moment_binds_one() -> None:
    skip_without_postgres()
    with postgres_schema() as url:
        engine = make_engine(url)
        upgrade(engine)
        with session_scope(engine) as session:
            plain = access.new_code(session, role="officer", province="*", now=NOW)
        first = Session(engine, expire_on_commit=False)
        second: dict[str, object] = {}

        def redeem_in_chat_2() -> None:
            with session_scope(engine) as session:
                second["who"] = access.redeem(session, 2, plain, NOW)

        try:
            assert access.redeem(first, 1, plain, NOW) is not None  # chat 1 binds; not committed yet
            first.flush()
            racer = threading.Thread(target=redeem_in_chat_2)
            racer.start()
            wait_until(lambda: blocked_on_a_lock(engine), GUARD_S, "chat 2 reaching the same code")
            first.commit()
        finally:
            first.close()
        racer.join(GUARD_S)
        with session_scope(engine) as session:
            bound = [chat for chat in (1, 2) if access.identity(session, chat) is not None]
        engine.dispose()
    assert bound == [1], f"chat 2 got {second.get('who')}"


def test_a_used_code_stays_spent_after_its_chat_unbinds(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="emitter", unit_code=NINGBO, now=NOW)
    assert "绑定成功" in plain_text(ask(sqlite_engine, CYCLE, 11, "bind", (plain,), NOW).text)
    assert "已解除绑定" in plain_text(ask(sqlite_engine, CYCLE, 11, "unbind", (), NOW).text)
    for chat in (11, 12):
        again = plain_text(ask(sqlite_engine, CYCLE, chat, "bind", (plain,), NOW).text)
        assert "绑定码无效、已使用或已过期" in again
    with session_scope(sqlite_engine) as session:
        assert access.identity(session, 11) is None and access.identity(session, 12) is None


async def test_guesses_sent_all_at_once_get_no_more_tries_than_one_by_one(sqlite_engine: Engine) -> None:
    """Telegram hands a burst of /bind guesses to the bot at once: still only MAX_FAILURES_PER_HOUR are
    tried, the right code is refused after them, and another chat is not held back."""
    with session_scope(sqlite_engine) as session:
        right = access.new_code(session, role="emitter", unit_code=NINGBO, now=NOW)
        other = access.new_code(session, role="emitter", unit_code=NINGBO, now=NOW)
    guesser, neighbour = 501, 502
    with BotApiServer() as botapi:
        settings = Settings(
            cycle="2019-2020",
            database_url=sqlite_engine.url.render_as_string(hide_password=False),
            telegram=TelegramConfig(
                base_url=botapi.base_url, base_file_url=botapi.base_file_url, token=SecretStr(botapi.token)
            ),
        )
        application = build_application(AppContext(settings), clock=lambda: NOW)
        guesses = [f"/bind GUESS{n:03d}" for n in range(12)] + [f"/bind {right}"]
        for guess in guesses:
            botapi.push_message(guesser, guess)
        botapi.push_message(neighbour, f"/bind {other}")
        stop = asyncio.Event()
        task = asyncio.create_task(run_polling_until(application, stop))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + GUARD_S
            while len(botapi.sent_texts(guesser)) < len(guesses) or not botapi.sent_texts(neighbour):
                assert loop.time() < deadline, "not every guess was answered"
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            await asyncio.wait_for(task, GUARD_S)
    answers = [plain_text(t) for t in botapi.sent_texts(guesser)]
    assert sum("绑定码无效" in a for a in answers) == access.MAX_FAILURES_PER_HOUR
    assert sum("尝试次数过多" in a for a in answers) == len(guesses) - access.MAX_FAILURES_PER_HOUR
    assert "尝试次数过多" in answers[-1]
    assert "绑定成功" in plain_text(botapi.sent_texts(neighbour)[0])
    with session_scope(sqlite_engine) as session:
        assert access.identity(session, guesser) is None
        tried = session.exec(select(func.count()).where(BindAttempt.chat_id == str(guesser))).one()
        assert tried == access.MAX_FAILURES_PER_HOUR
