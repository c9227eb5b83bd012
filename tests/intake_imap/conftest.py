from __future__ import annotations

import contextlib
import imaplib
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from mail.imap_source import ImapSettings
from mail.intake import IntakeConfig
from tests.intake_imap.messages import SENDERS, TZ
from tests.servers.dovecot import Dovecot, ImapAccount, quote_mailbox
from tests.told import notifying


@pytest.fixture
def intake_config() -> IntakeConfig:
    """As the service takes mail: senders get receipts, officers warnings."""
    return notifying(IntakeConfig(SENDERS, TZ))


def settings_for(account: ImapAccount, **overrides: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": account.host,
        "port": account.port,
        "security": "none",
        "user": account.user,
        "password": account.password,
        "timeout_s": 10.0,
        "reconnect_initial_s": 0.1,
        "reconnect_max_s": 1.0,
    }
    values.update(overrides)
    return ImapSettings(**values)  # type: ignore[arg-type]


@contextlib.contextmanager
def imap(account: ImapAccount) -> Iterator[imaplib.IMAP4]:
    """A second, independent connection: what any other mail client would see."""
    client = imaplib.IMAP4(account.host, account.port, timeout=10)
    try:
        client.login(account.user, account.password)
        yield client
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def append_at(account: ImapAccount, raw: bytes, arrived: datetime, folder: str = "INBOX") -> None:
    """APPEND with an explicit arrival (internal) date, as old mail in a mailbox has."""
    with imap(account) as client:
        typ, data = client.append(quote_mailbox(folder), None, imaplib.Time2Internaldate(arrived), raw)
    assert typ == "OK", data


def flags_of(account: ImapAccount, folder: str) -> list[bytes]:
    """The FLAGS of every message in a folder, read without changing them."""
    with imap(account) as client:
        typ, selected = client.select(quote_mailbox(folder), readonly=True)
        assert typ == "OK", selected
        if not int(selected[0] or b"0"):
            return []
        typ, fetched = client.fetch("1:*", "(FLAGS)")
        assert typ == "OK", fetched
    return [item for item in fetched if isinstance(item, bytes)]


def deliver_to_maildir(dovecot: Dovecot, user: str, raw: bytes) -> None:
    """Deliver as a local delivery agent would, straight into INBOX's Maildir: works while IMAP is down."""
    root = dovecot.dir / "mail" / user
    owner = os.stat(root)
    name = f"{time.time_ns()}.P{os.getpid()}.ccerbot-test"
    staged = root / "tmp" / name
    staged.write_bytes(raw)
    os.chown(staged, owner.st_uid, owner.st_gid)
    staged.rename(Path(root / "new" / name))
