"""One pass of the IMAP intake against a real Dovecot: cursor, folders, flags."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from mail import imap_cursor
from mail.imap_source import ImapIntake, ImapSettings
from mail.intake import IntakeConfig
from storage.engine import make_engine, session_scope
from storage.migrate import upgrade
from storage.outbox import items
from tests.intake_imap.conftest import append_at, flags_of, imap, settings_for
from tests.intake_imap.messages import NOW, SHANDONG, TZ, from_stranger, sample
from tests.servers.dovecot import Dovecot, ImapAccount, quote_mailbox


def clock() -> datetime:
    return NOW


def test_a_new_mailbox_starts_at_uidnext(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    dovecot.append(imap_account.user, sample("001-roster"))
    intake = ImapIntake(settings_for(imap_account))

    assert intake.run_once(sqlite_engine, intake_config, clock) == []
    dovecot.append(imap_account.user, sample("002-roster"))
    taken = intake.run_once(sqlite_engine, intake_config, clock)

    assert [(o.outcome, o.province) for o in taken] == [("applied", "广东省")]
    assert len(dovecot.folder_uids(imap_account.user, "INBOX")) == 1  # the old mail, left alone
    assert len(dovecot.folder_uids(imap_account.user, "Processed")) == 1


def test_since_backfills_mail_that_arrived_from_that_day(
    imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    append_at(imap_account, sample("001-roster"), datetime(2021, 10, 25, 15, 5, tzinfo=TZ))
    append_at(imap_account, sample("003-weekly"), datetime(2021, 10, 29, 16, 35, tzinfo=TZ))
    append_at(imap_account, sample("005-weekly"), datetime(2021, 11, 5, 16, 35, tzinfo=TZ))
    intake = ImapIntake(settings_for(imap_account, since=date(2021, 10, 29)))

    taken = intake.run_once(sqlite_engine, intake_config, clock)

    assert [o.kind for o in taken] == ["weekly_summary", "weekly_summary"]
    assert [o.source.rsplit("=", 1)[1] for o in taken] == ["2", "3"]
    assert intake.run_once(sqlite_engine, intake_config, clock) == []


def test_untrusted_mail_goes_to_quarantine_unread(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    intake = ImapIntake(settings_for(imap_account))
    intake.run_once(sqlite_engine, intake_config, clock)
    dovecot.append(imap_account.user, from_stranger("001-roster"))
    dovecot.append(imap_account.user, sample("001-roster"))

    taken = intake.run_once(sqlite_engine, intake_config, clock)

    assert [(o.outcome, o.sender) for o in taken] == [
        ("quarantined", "someone@mail.example"),
        ("applied", SHANDONG),
    ]
    assert dovecot.folder_uids(imap_account.user, "INBOX") == []
    assert [b"\\Seen" in f for f in flags_of(imap_account, "Quarantine")] == [False]
    assert [b"\\Seen" in f for f in flags_of(imap_account, "Processed")] == [True]
    # the stranger gets no receipt; the province, with no officer in a chat, is warned at its address
    told = sorted((i.kind, i.recipient) for i in items(sqlite_engine))
    assert told == [("receipt", SHANDONG), ("untrusted_mail", SHANDONG)]


def test_a_restart_neither_misses_nor_repeats(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    dovecot.append(imap_account.user, sample("001-roster"))  # there before the bot: never taken
    ImapIntake(settings_for(imap_account)).run_once(sqlite_engine, intake_config, clock)
    dovecot.append(imap_account.user, sample("002-roster"))
    first = ImapIntake(settings_for(imap_account)).run_once(sqlite_engine, intake_config, clock)
    dovecot.append(imap_account.user, sample("003-weekly"))
    dovecot.append(imap_account.user, sample("004-weekly"))

    second = ImapIntake(settings_for(imap_account)).run_once(sqlite_engine, intake_config, clock)

    assert [o.message_id for o in first] == [_message_id("002-roster")]
    assert [o.message_id for o in second] == [_message_id("003-weekly"), _message_id("004-weekly")]
    assert all(o.outcome == "applied" for o in first + second)
    assert len(dovecot.folder_uids(imap_account.user, "INBOX")) == 1
    assert len(dovecot.folder_uids(imap_account.user, "Processed")) == 3


def test_a_changed_uidvalidity_reads_the_folder_again(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    settings = settings_for(imap_account, folder="省局来信")
    dovecot.append(imap_account.user, sample("001-roster"), folder="省局来信")
    intake = ImapIntake(settings)
    intake.run_once(sqlite_engine, intake_config, clock)  # starts after the roster already there
    dovecot.append(imap_account.user, sample("002-roster"), folder="省局来信")
    [first] = intake.run_once(sqlite_engine, intake_config, clock)
    before = imap_cursor.load(sqlite_engine, settings.mailbox_key)

    _recreate(imap_account, "省局来信")  # the folder is rebuilt: every UID is new
    dovecot.append(imap_account.user, sample("002-roster"), folder="省局来信")
    dovecot.append(imap_account.user, sample("003-weekly"), folder="省局来信")
    again = intake.run_once(sqlite_engine, intake_config, clock)

    after = imap_cursor.load(sqlite_engine, settings.mailbox_key)
    assert before is not None and after is not None and after.uidvalidity != before.uidvalidity
    assert [(o.outcome, o.message_pk) for o in again] == [("duplicate", first.message_pk), ("applied", 2)]
    assert dovecot.folder_uids(imap_account.user, "省局来信") == []
    assert len(items(sqlite_engine)) == 2  # one receipt per message, not one per delivery


def test_a_message_whose_ingest_failed_stays_unread_in_the_folder(
    dovecot: Dovecot, imap_account: ImapAccount, tmp_path: Path, intake_config: IntakeConfig
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'broken.db'}")
    upgrade(engine)
    intake = ImapIntake(settings_for(imap_account))
    intake.run_once(engine, intake_config, clock)
    uid = dovecot.append(imap_account.user, sample("001-roster"))
    _rename_table(engine, "inboundmessage", "inboundmessage_away")  # storing the message will fail

    with pytest.raises(Exception, match="inboundmessage"):
        intake.run_once(engine, intake_config, clock)

    assert dovecot.folder_uids(imap_account.user, "INBOX") == [uid]
    assert [b"\\Seen" in f for f in flags_of(imap_account, "INBOX")] == [False]
    _rename_table(engine, "inboundmessage_away", "inboundmessage")
    assert [o.outcome for o in intake.run_once(engine, intake_config, clock)] == ["applied"]
    assert dovecot.folder_uids(imap_account.user, "INBOX") == []
    engine.dispose()


def _message_id(name: str) -> str:
    from mail.mime import walk

    found = walk(sample(name)).envelope.message_id
    assert found is not None
    return found


def _recreate(account: ImapAccount, folder: str) -> None:
    with imap(account) as client:
        assert client.delete(quote_mailbox(folder))[0] == "OK"
        assert client.create(quote_mailbox(folder))[0] == "OK"


def _rename_table(engine: Engine, old: str, new: str) -> None:
    with session_scope(engine) as session:
        session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_moving_leaves_other_clients_deleted_mail_alone(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    # Copy + expunge (what a client does that missed MOVE in the capabilities) would purge it.
    marked = dovecot.append(imap_account.user, sample("001-roster"), flags="\\Deleted")
    intake = ImapIntake(settings_for(imap_account))
    intake.run_once(sqlite_engine, intake_config, clock)
    dovecot.append(imap_account.user, sample("002-roster"))

    assert [o.outcome for o in intake.run_once(sqlite_engine, intake_config, clock)] == ["applied"]

    assert dovecot.folder_uids(imap_account.user, "INBOX") == [marked]


def test_plain_imap_is_refused_away_from_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ImapSettings(host="imap.example", port=143, security="none", user="bot", password="x")
    with pytest.raises(ValueError, match="security"):
        ImapSettings(host="imap.example", port=993, security="tls", user="bot", password="x")
