"""Servers going away under a running `ccerbot run`: Dovecot, the SMTP server, the Bot API, PostgreSQL.

The bot is never restarted here: it must notice, wait, and carry on by itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.config import SmtpConfig
from bot.sender.email import EmailChannel
from bot.sender.loop import Sender, SenderConfig
from storage import outbox
from storage.engine import session_scope
from storage.outbox import NewItem
from tests.intake_imap.conftest import deliver_to_maildir
from tests.reliability.conftest import SetupFactory
from tests.reliability.harness import (
    Bot,
    Setup,
    all_sent,
    deliver,
    deliveries,
    has_cursor,
    intake_complete,
    items,
    wait_until,
)
from tests.servers.dovecot import Dovecot, ImapAccount
from tests.servers.smtp import SmtpServer

GUARD_S = 60.0  # a guard against a hung test, not a measurement


def settled(setup: Setup) -> Callable[[], bool]:
    return lambda: intake_complete(setup) and all_sent(setup.engine)


def delivered_once_each(setup: Setup) -> None:
    ledger = items(setup.engine)
    found = deliveries(setup, ledger)
    assert found.strays == []
    assert {i.key: found.counts[i.key] for i in ledger} == {i.key: 1 for i in ledger}
    assert {i.state for i in ledger} == {"sent"}


def test_dovecot_stopped_and_started_during_idle_mail_of_the_outage_is_taken(
    dovecot: Dovecot, new_imap_account: Callable[[], ImapAccount], make_setup: SetupFactory
) -> None:
    setup = make_setup(account=new_imap_account(), dovecot=dovecot)
    assert setup.account is not None
    bot = Bot(setup, "run")
    wait_until(lambda: has_cursor(setup.engine), GUARD_S, "the bot reading the mailbox", setup)
    deliver(setup, 3)
    wait_until(settled(setup), GUARD_S, "the first mail taken in and answered", setup)
    try:
        dovecot.stop()  # the bot sits in IDLE: its connection dies under it
        for raw in setup.mail[3:5]:  # delivered locally while IMAP is down
            deliver_to_maildir(dovecot, setup.account.user, raw)
        setup.delivered = 5
    finally:
        dovecot.start()
    deliver(setup, 2)  # and by IMAP once it is back
    wait_until(settled(setup), GUARD_S, "mail of the outage taken in and answered", setup)
    assert bot.alive, "the bot ended instead of reconnecting"
    assert bot.stop() == 0
    assert "connection lost" in setup.log.read_text("utf-8")
    assert dovecot.folder_uids(setup.account.user, "INBOX") == []
    assert len(dovecot.folder_uids(setup.account.user, "Processed")) == 7
    assert len([i for i in items(setup.engine) if i.kind == "receipt"]) == 7
    delivered_once_each(setup)


def test_smtp_down_and_the_bot_api_failing_every_message_still_goes_once(make_setup: SetupFactory) -> None:
    """The mail server is down while the Bot API answers 429, 500, 502 and too late: receipts and email
    reminders wait in the outbox and go when the server returns; each chat message arrives once, but the
    one whose answer came after the sender's 10 s timeout (Telegram took it; nobody can tell)."""
    setup = make_setup()
    botapi = setup.botapi
    setup.smtp.go_down()
    botapi.fail_next("sendMessage", status=429, retry_after=1, times=2)
    botapi.fail_next("sendMessage", status=500)
    botapi.fail_next("sendMessage", status=502)
    botapi.delay_next("sendMessage", 12.0)  # taken, but answered after the sender's read timeout
    deliver(setup)
    bot = Bot(setup, "run")
    wait_until(lambda: intake_complete(setup), GUARD_S, "every message taken in", setup)
    reminders = Bot(setup, "reminders", "--send", "--at", "2021-12-31T09:00")

    def waiting() -> bool:
        mail = [i for i in items(setup.engine) if i.channel == "email"]
        tried = all(i.attempts >= 1 and i.state in ("pending", "sending") for i in mail)
        return tried and {"receipt", "compliance_deadline"} <= {i.kind for i in mail}

    wait_until(waiting, GUARD_S, "receipts and reminders waiting in the outbox", setup)
    assert setup.smtp.messages == []
    setup.smtp.come_up()
    assert reminders.wait(GUARD_S) == 0, setup.log_tail()
    wait_until(settled(setup), GUARD_S, "every receipt, alert and reminder sent", setup)
    assert bot.alive and bot.stop() == 0
    statuses = [c.status for c in botapi.calls if c.method == "sendMessage"]
    assert sorted(s for s in statuses if s != 200) == [429, 429, 500, 502]
    ledger = items(setup.engine)
    found = deliveries(setup, ledger)
    assert found.strays == [] and {i.state for i in ledger} == {"sent"}
    assert len([i for i in ledger if i.kind == "receipt"]) == 32
    assert all(found.counts[i.key] == 1 for i in ledger if i.channel == "email")
    chat = [i for i in ledger if i.channel == "telegram"]
    twice = [i.key for i in chat if found.counts[i.key] == 2]
    assert len(chat) >= 5 and len(twice) == 1, "exactly the message whose answer was lost comes again"
    assert all(found.counts[i.key] == 1 for i in chat if i.key not in twice)


async def test_an_smtp_outage_of_an_hour_loses_no_receipt(sqlite_engine: Engine) -> None:
    """The outbox's clock is moved on by the back-off after every failure: an hour of outage in a second."""
    smtp = SmtpServer()  # not started: the server is down
    config = SmtpConfig(host=smtp.host, port=smtp.port, security="none", sender="ccerbot@demo.example")
    start = datetime.now(UTC)
    clock = {"now": start}

    def now() -> datetime:
        return clock["now"]

    with session_scope(sqlite_engine) as session:
        receipt = NewItem(
            "sender|email:a@unit.example|receipt|1", "sender", "email", "a@unit.example", "receipt", "回执"
        )
        outbox.enqueue(session, [receipt], start)
    sender = Sender(
        sqlite_engine, {"email": EmailChannel(config)}, config=SenderConfig(idle_poll_s=0.01), clock=now
    )
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        while now() - start < timedelta(hours=1):  # the server stays down for an hour
            [item] = outbox.items(sqlite_engine)
            if item.state != "sending":
                clock["now"] = max(now() + timedelta(minutes=1), item.next_attempt_at + timedelta(seconds=1))
                sender.wake()
            await asyncio.sleep(0.01)
        with smtp:  # back
            deadline = asyncio.get_running_loop().time() + GUARD_S
            while not smtp.messages and outbox.items(sqlite_engine)[0].state != "failed":
                assert asyncio.get_running_loop().time() < deadline, "neither sent nor failed"
                clock["now"] += timedelta(minutes=1)
                sender.wake()
                await asyncio.sleep(0.05)
            assert len(smtp.messages) == 1, f"the receipt is {outbox.items(sqlite_engine)[0].state}"
    finally:
        stop.set()
        await running


def _postgres_cluster() -> tuple[str, str] | None:
    tool = shutil.which("pg_ctlcluster")
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    return (tool, versions[-1]) if tool and versions else None


def restart_postgres(while_down: Callable[[], None]) -> None:
    """This machine's PostgreSQL stopped and started again as an operator would (and left running);
    `while_down` runs in between."""
    cluster = _postgres_cluster()
    assert cluster is not None
    tool, version = cluster
    subprocess.run([tool, "--skip-systemctl-redirect", version, "main", "stop"], check=True, timeout=120)
    try:
        while_down()
    finally:
        subprocess.run([tool, "--skip-systemctl-redirect", version, "main", "start"], check=True, timeout=120)


def answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@pytest.mark.postgres
@pytest.mark.restarts_postgres
def test_postgres_restarted_under_run_the_bot_recovers_by_itself(
    dovecot: Dovecot, new_imap_account: Callable[[], ImapAccount], make_setup: SetupFactory
) -> None:
    if _postgres_cluster() is None:
        pytest.skip("no PostgreSQL cluster on this machine to restart")
    setup = make_setup(database="postgres", account=new_imap_account(), dovecot=dovecot)
    bot = Bot(setup, "run")
    wait_until(lambda: has_cursor(setup.engine), GUARD_S, "the bot reading the mailbox", setup)
    deliver(setup, 12)
    wait_until(settled(setup), GUARD_S, "the first mail taken in and answered", setup)
    noticed = len(setup.log.read_text("utf-8"))

    def meanwhile() -> None:
        deliver(setup)  # the rest of the mail arrives while the database is down
        wait_until(
            lambda: "intake failed" in setup.log.read_text("utf-8")[noticed:],
            GUARD_S,
            "the bot failing to store mail while the database is down",
            setup,
        )

    restart_postgres(meanwhile)
    wait_until(lambda: answers(setup.engine), GUARD_S, "PostgreSQL back")
    wait_until(settled(setup), GUARD_S, "mail of the outage taken in and answered", setup)
    assert bot.alive, "the bot ended instead of reconnecting"
    reminders = Bot(setup, "reminders", "--send", "--at", "2021-12-31T09:00")
    assert reminders.wait(GUARD_S) == 0, setup.log_tail()
    wait_until(settled(setup), GUARD_S, "the reminders sent", setup)
    assert bot.stop() == 0
    delivered_once_each(setup)
    assert len([i for i in items(setup.engine) if i.kind == "receipt"]) == 32
