"""Two senders on one PostgreSQL database: every item is sent exactly once, by one of them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from mail.intake import IntakeConfig, take
from mail.sources import iter_paths
from storage import access, outbox
from storage.engine import make_engine, session_scope
from storage.migrate import upgrade
from tests.db import postgres_schema_url, skip_without_postgres
from tests.reminders.helpers import GUARD_S, bot_for, enqueue, item, sender, telegram_channel, utc_now
from tests.servers.botapi import BotApiServer
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.postgres
ITEMS = 200


@pytest.fixture
def postgres_url() -> Iterator[str]:
    skip_without_postgres()
    with postgres_schema_url() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


async def test_two_senders_send_every_item_once(postgres_url: str, botapi: BotApiServer) -> None:
    first, second = make_engine(postgres_url), make_engine(postgres_url)  # two pools, as two processes have
    try:
        enqueue(first, [item(f"k{n}", str(10_000 + n), f"提醒 {n}") for n in range(ITEMS)])
        async with bot_for(botapi) as bot:
            channel = telegram_channel(bot)
            one = sender(first, {"telegram": channel}, worker="one")
            two = sender(second, {"telegram": channel}, worker="two")
            keys = [f"k{n}" for n in range(ITEMS)]
            results = await asyncio.wait_for(
                asyncio.gather(one.run_until_settled(keys), two.run_until_settled(keys)), GUARD_S
            )
        assert all(set(r.values()) == {"sent"} for r in results)
        per_chat = Counter(c.chat_id for c in botapi.sent if c.method == "sendMessage")
        assert len(per_chat) == ITEMS and set(per_chat.values()) == {1}
        assert one.tally.sent > 0 and two.tally.sent > 0
        assert one.tally.sent + two.tally.sent == ITEMS
        assert Counter(i.claimed_by for i in outbox.items(first)) == {
            "one": one.tally.sent,
            "two": two.tally.sent,
        }
    finally:
        first.dispose()
        second.dispose()


def test_two_send_commands_at_once_send_each_reminder_once(
    postgres_url: str,
    samples: Path,
    sample_settings: Settings,
    botapi: BotApiServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    engine = make_engine(postgres_url)
    try:
        config = IntakeConfig(senders=sample_settings.trusted_senders(), tz=sample_settings.tz)
        for mail in iter_paths([str(samples / "mail")]):
            take(engine, mail.read_bytes(), str(mail), config, utc_now())
        with session_scope(engine) as session:
            access.bind(session, 4242, "emitter", utc_now(), unit_code="913703082HD1TJ3Y9U")
            access.bind(session, 7001, "officer", utc_now(), province="广东省")
    finally:
        engine.dispose()
    toml = tmp_path / "ccerbot.toml"
    toml.write_text(
        (samples / "ccerbot.toml").read_text("utf-8")
        + f'\n[telegram]\nbase_url = "{botapi.base_url}"\nbase_file_url = "{botapi.base_file_url}"\n'
        + f'\n[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n'
        + 'sender = "ccerbot@example.cn"\n',
        "utf-8",
    )
    command = [sys.executable, "-m", "bot.cli", "--config", str(toml), "--db", postgres_url, "reminders"]
    command += ["--at", "2021-12-31T09:00:00+08:00", "--send"]
    environment = {**os.environ, "CCERBOT_TELEGRAM_TOKEN": botapi.token}
    runs = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in "12"
    ]
    outputs = [run.communicate(timeout=GUARD_S) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    chats = Counter(c.chat_id for c in botapi.sent if c.method == "sendMessage")
    mails = Counter(address for m in smtp_server.messages for address in m.rcpt_tos)
    assert chats == {4242: 1, 7001: 1}
    # five units without a chat have a contact address, and 山东省's officers have no chat
    assert len(mails) == 6 and set(mails.values()) == {1}, mails
    assert "ccer@sthj.shandong.example" in mails
