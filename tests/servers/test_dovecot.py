from __future__ import annotations

import imaplib
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from imap_tools import MailboxLoginError, MailBoxUnencrypted

from tests.servers.dovecot import Dovecot, ImapAccount, encode_mailbox


def _raw(subject: str, body: str = "正文 body") -> bytes:
    message = EmailMessage()
    message["From"] = "sender@example.cn"
    message["To"] = "ccerbot@example.cn"
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


def test_a_fresh_account_is_empty(dovecot: Dovecot, imap_account: ImapAccount) -> None:
    assert dovecot.folder_uids(imap_account.user) == []
    assert dovecot.folders(imap_account.user) == ["INBOX"]


def test_appended_mail_is_fetched_unseen(dovecot: Dovecot, imap_account: ImapAccount) -> None:
    uid = dovecot.append(imap_account.user, _raw("2024年度排放报告"))

    with MailBoxUnencrypted(imap_account.host, imap_account.port).login(
        imap_account.user, imap_account.password
    ) as mailbox:
        messages = list(mailbox.fetch(mark_seen=False))
        again = list(mailbox.fetch(mark_seen=False))

    assert [m.uid for m in messages] == [str(uid)]
    assert messages[0].subject == "2024年度排放报告"
    assert "正文" in messages[0].text
    assert "\\Seen" not in again[0].flags


def test_accounts_do_not_share_mail(dovecot: Dovecot, new_imap_account: Callable[[], ImapAccount]) -> None:
    first, second = new_imap_account(), new_imap_account()
    dovecot.append(first.user, _raw("only for the first"))

    assert first.user != second.user
    assert len(dovecot.folder_uids(first.user)) == 1
    assert dovecot.folder_uids(second.user) == []


def test_folders_take_chinese_names_dots_and_slashes(dovecot: Dovecot, imap_account: ImapAccount) -> None:
    dovecot.append(imap_account.user, _raw("archived"), folder="归档/2024.05")

    with MailBoxUnencrypted(imap_account.host, imap_account.port).login(
        imap_account.user, imap_account.password
    ) as mailbox:
        names = {f.name for f in mailbox.folder.list()}
        mailbox.folder.set("归档/2024.05")
        subjects = [m.subject for m in mailbox.fetch(mark_seen=False)]

    assert "归档/2024.05" in names
    assert subjects == ["archived"]
    assert encode_mailbox("归档/2024.05") in dovecot.folders(imap_account.user)


def test_a_leased_account_is_emptied_again(dovecot: Dovecot, imap_account: ImapAccount) -> None:
    dovecot.append(imap_account.user, _raw("left behind"), folder="Processed")
    dovecot.append(imap_account.user, _raw("left behind too"))

    dovecot.reset(imap_account.user)

    assert dovecot.folders(imap_account.user) == ["INBOX"]
    assert dovecot.folder_uids(imap_account.user) == []


def test_idle_wakes_when_another_connection_appends(dovecot: Dovecot, imap_account: ImapAccount) -> None:
    with MailBoxUnencrypted(imap_account.host, imap_account.port).login(
        imap_account.user, imap_account.password
    ) as mailbox:
        with mailbox.idle as idle:
            dovecot.append(imap_account.user, _raw("wake up"))
            responses = idle.poll(timeout=10)
        subjects = [m.subject for m in mailbox.fetch(mark_seen=False)]

    assert any(b"EXISTS" in r for r in responses)
    assert subjects == ["wake up"]


def test_a_wrong_password_is_refused_and_the_next_login_works(imap_account: ImapAccount) -> None:
    for wrong in ("wrong", "wrong again"):
        refused = MailBoxUnencrypted(imap_account.host, imap_account.port)
        with pytest.raises(MailboxLoginError):
            refused.login(imap_account.user, wrong)
        refused.client.shutdown()

    with MailBoxUnencrypted(imap_account.host, imap_account.port).login(
        imap_account.user, imap_account.password
    ) as mailbox:
        assert mailbox.folder.get() == "INBOX"


def test_mail_survives_a_restart(dovecot: Dovecot, imap_account: ImapAccount) -> None:
    dovecot.append(imap_account.user, _raw("kept"), folder="Keep")
    before = dovecot.folder_uids(imap_account.user, "Keep")
    client = imaplib.IMAP4(imap_account.host, imap_account.port)
    client.login(imap_account.user, imap_account.password)
    client.select("INBOX")

    dovecot.restart()

    with pytest.raises((imaplib.IMAP4.error, OSError)):
        client.noop()
    client.shutdown()
    assert dovecot.folder_uids(imap_account.user, "Keep") == before


def test_the_main_account_logs_in(dovecot: Dovecot) -> None:
    account = dovecot.account()

    with MailBoxUnencrypted(account.host, account.port).login(account.user, account.password) as mailbox:
        assert mailbox.folder.exists("INBOX")
    assert (account.user, account.password) == ("ccerbot", "secret")
