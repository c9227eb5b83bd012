"""Pytest fixtures for the loopback servers: `pytest_plugins = ["tests.servers.plugin"]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.servers.botapi import BotApiServer
from tests.servers.dovecot import Dovecot, DovecotUnavailable, ImapAccount
from tests.servers.smtp import SmtpServer

_DOVECOT_FIXTURES = frozenset({"dovecot", "imap_account", "new_imap_account"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests on the real IMAP server carry the `dovecot` marker, so `-m "not dovecot"` leaves them out.
    for item in items:
        if _DOVECOT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.dovecot)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot for the whole run; users `ccerbot`/`secret` and spares `box1`..`box8`."""
    try:
        server = Dovecot()
    except DovecotUnavailable as exc:
        pytest.skip(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def new_imap_account(dovecot: Dovecot) -> Callable[[], ImapAccount]:
    """Hands out emptied spare accounts, distinct within one test."""
    if not dovecot.running:  # an earlier test may have stopped it and failed before restarting
        dovecot.start()
    handed: list[ImapAccount] = []

    def lease() -> ImapAccount:
        if len(handed) >= len(dovecot.spares):
            raise RuntimeError(f"only {len(dovecot.spares)} spare IMAP accounts per test")
        handed.append(dovecot.lease())
        return handed[-1]

    return lease


@pytest.fixture
def imap_account(new_imap_account: Callable[[], ImapAccount]) -> ImapAccount:
    """An empty mailbox (only INBOX) for this test: host, port, user, password."""
    return new_imap_account()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server for this test; AUTH as `ccerbot`/`secret` is accepted without TLS."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def botapi() -> Iterator[BotApiServer]:
    """A Telegram Bot API server for this test: `base_url`, `base_file_url`, `token`."""
    with BotApiServer() as server:
        yield server
