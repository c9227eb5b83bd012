"""The IMAP intake says who it is (RFC 2971 ID) after login: NetEase and Coremail refuse SELECT otherwise."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.service import imap_settings
from mail.imap_session import close, connect, has, select
from mail.imap_source import ImapIntake
from mail.intake import IntakeConfig
from tests.db import upgraded_engine
from tests.intake_imap.conftest import settings_for
from tests.intake_imap.messages import SENDERS, TZ
from tests.servers.dovecot import Dovecot, ImapAccount


@pytest.fixture
def logged_ids(dovecot: Dovecot) -> Dovecot:
    if dovecot.version >= (2, 4):
        pytest.skip("the fixture logs ID fields through imap_id_log, a Dovecot 2.3 setting")
    return dovecot


def _id_lines(dovecot: Dovecot, user: str) -> list[str]:
    """The ID fields Dovecot logged for the user's sessions, once each of them has logged its end: its
    log process writes a moment after the session, later still on a busy machine."""
    text = ""
    for _ in range(150):
        text = dovecot.log_path.read_text(errors="replace") if dovecot.log_path.exists() else ""
        logins = text.count(f"Login: user=<{user}>")
        ended = sum(f"imap({user})" in line and "Disconnected" in line for line in text.splitlines())
        if logins and logins == ended:
            break
        time.sleep(0.1)
    return [
        line.split("ID sent: ", 1)[1]
        for line in text.splitlines()
        if f"({user})" in line and "ID sent: " in line
    ]


def _config(tmp_path: Path, account: ImapAccount, extra: str = "") -> str:
    path = tmp_path / "c.toml"
    path.write_text(
        f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "none"\n'
        f'user = "{account.user}"\n{extra}',
        encoding="utf-8",
    )
    return str(path)


def _log_in_and_select(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account: ImapAccount, extra: str = ""
) -> None:
    monkeypatch.setenv("CCERBOT_IMAP_PASSWORD", account.password)
    settings = load_settings(_config(tmp_path, account, extra))
    box = connect(imap_settings(settings).endpoint())
    try:
        assert has(box, "ID")
        select(box, "INBOX")
    finally:
        close(box)


def test_the_configured_fields_are_sent_after_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logged_ids: Dovecot, imap_account: ImapAccount
) -> None:
    release = uuid.uuid4().hex[:8]
    _log_in_and_select(
        tmp_path,
        monkeypatch,
        imap_account,
        f'id = {{name = "ccerbot", version = "{release}", vendor = "x"}}\n',
    )
    assert _id_lines(logged_ids, imap_account.user) == [f"name=ccerbot, version={release}, vendor=x"]


def test_by_default_the_name_and_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logged_ids: Dovecot, imap_account: ImapAccount
) -> None:
    from importlib.metadata import version

    _log_in_and_select(tmp_path, monkeypatch, imap_account)
    assert _id_lines(logged_ids, imap_account.user) == [f"name=ccerbot, version={version('ccerbot')}"]


def test_an_empty_id_sends_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logged_ids: Dovecot, imap_account: ImapAccount
) -> None:
    _log_in_and_select(tmp_path, monkeypatch, imap_account, "id = {}\n")
    assert _id_lines(logged_ids, imap_account.user) == []


def test_the_intake_sends_it(tmp_path: Path, logged_ids: Dovecot, imap_account: ImapAccount) -> None:
    intake = ImapIntake(settings_for(imap_account, client_id=(("name", "ccerbot"), ("version", "intake"))))
    with upgraded_engine("sqlite", tmp_path) as engine:
        assert intake.run_once(engine, IntakeConfig(SENDERS, TZ), lambda: datetime.now(TZ)) == []
    assert _id_lines(logged_ids, imap_account.user) == ["name=ccerbot, version=intake"]


@pytest.mark.parametrize(
    "fields",
    [
        '{name = "长江"}',
        '{name = "a\\nb"}',
        '{"' + "k" * 31 + '" = "v"}',
        "{" + ", ".join(f"k{i} = 'v'" for i in range(31)) + "}",
    ],
)
def test_fields_an_imap_server_cannot_take_are_refused(tmp_path: Path, fields: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[imap]\nhost = "imap.example"\nid = {fields}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"imap\.id"):
        load_settings(str(path))
