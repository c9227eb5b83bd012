"""Secrets never reach the logs: the Telegram token, the IMAP, SMTP and database passwords, while the
bot runs and while its servers fail under it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.reliability.conftest import SetupFactory
from tests.reliability.harness import (
    STORY,
    Bot,
    Setup,
    all_sent,
    deliver,
    environment,
    has_cursor,
    intake_complete,
    items,
    wait_until,
)
from tests.servers.dovecot import Dovecot

GUARD_S = 60.0  # a guard against a hung test, not a measurement
IMAP_PASSWORD = "Imap-Pw-4c1f9e"
SMTP_PASSWORD = "Smtp-Pw-8b2d7a"
DB_PASSWORD = "Db-Pw-3e6a0f"


@pytest.fixture(scope="module")
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot whose only user has a password nothing else in the log could contain."""
    from tests.servers.dovecot import DovecotUnavailable

    try:
        server = Dovecot(users={"ccerbot": IMAP_PASSWORD})
    except DovecotUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        yield server


def secrets_in(setup: Setup, text: str) -> list[str]:
    token = setup.botapi.token
    candidates = {"token": token, "token secret": token.split(":", 1)[1], "SMTP": SMTP_PASSWORD}
    candidates |= {"IMAP": IMAP_PASSWORD, "database": DB_PASSWORD}
    return [what for what, secret in candidates.items() if secret in text]


@pytest.mark.dovecot
def test_no_secret_in_the_log_while_servers_fail(private_dovecot: Dovecot, make_setup: SetupFactory) -> None:
    setup = make_setup(
        account=private_dovecot.account(), dovecot=private_dovecot, smtp_password=SMTP_PASSWORD
    )
    setup.botapi.fail_next("getUpdates", status=502, times=2)
    setup.botapi.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    officer = STORY["senders"]["provinces"]["江苏省"][0]
    setup.smtp.refuse_recipient(officer)
    bot = Bot(setup, "run")
    wait_until(lambda: has_cursor(setup.engine), GUARD_S, "the bot reading the mailbox", setup)
    deliver(setup, 20)
    wait_until(lambda: intake_complete(setup), GUARD_S, "mail taken in", setup)
    private_dovecot.stop()  # under the bot's IDLE
    private_dovecot.start()
    deliver(setup)
    reminders = Bot(setup, "reminders", "--send", "--at", "2021-12-31T09:00")
    reminders.wait(GUARD_S)

    def done() -> bool:
        ledger = items(setup.engine)
        return intake_complete(setup) and all(i.state in ("sent", "failed") for i in ledger)

    wait_until(done, GUARD_S, "everything sent or given up", setup)
    assert bot.stop() == 0
    log = setup.log.read_text("utf-8")
    # the failures happened, and were logged
    assert "connection lost" in log and "failed for good" in log and "getUpdates failed" in log
    assert not all_sent(setup.engine)
    assert secrets_in(setup, log) == []


def test_no_token_in_the_verbose_log(make_setup: SetupFactory) -> None:
    setup = make_setup(verbose=True)
    deliver(setup, 3)
    bot = Bot(setup, "run")
    wait_until(lambda: intake_complete(setup) and all_sent(setup.engine), GUARD_S, "mail taken in", setup)
    assert bot.stop() == 0
    log = setup.log.read_text("utf-8")
    assert "INFO" in log  # it is the verbose log
    assert secrets_in(setup, log) == []


def test_no_database_password_in_the_error_when_the_database_is_unreachable(make_setup: SetupFactory) -> None:
    setup = make_setup()
    url = f"postgresql://ccerbot:{DB_PASSWORD}@127.0.0.1:1/ccerbot"
    for command in ("run", "status"):
        args = [sys.executable, "-m", "bot.cli", "-v", "--config", str(setup.config), "--db", url, command]
        if command == "status":
            args.append("91330206MA2C4D5E6X")
        done = subprocess.run(args, capture_output=True, text=True, env=environment(setup), timeout=GUARD_S)
        assert done.returncode == 1
        assert "无法使用数据库" in done.stderr
        assert secrets_in(setup, done.stdout + done.stderr) == []
