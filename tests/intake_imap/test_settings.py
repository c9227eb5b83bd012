"""The intake's IMAP settings are built from the configuration's [imap] section in one place."""

from __future__ import annotations

import dataclasses
from datetime import date

from pydantic import SecretStr

from bot.config import ImapConfig
from mail.imap_source import ImapSettings


def test_every_imap_setting_comes_from_the_section() -> None:
    section = ImapConfig(
        host="imap.example",
        port=1993,
        security="starttls",
        user="bot@example.cn",
        password=SecretStr("secret"),
        timeout_s=12.0,
        id={"name": "ccerbot", "version": "9"},
        folder="收件箱",
        processed_folder="Done",
        quarantine_folder="Held",
        poll_interval_s=7.0,
        idle_timeout_s=120.0,
        since=date(2021, 10, 29),
    )
    built = ImapSettings.from_section(section)
    # the reconnect back-off and the IDLE switch have no setting: their defaults stay
    assert dataclasses.asdict(built) == dataclasses.asdict(
        ImapSettings(
            host="imap.example",
            port=1993,
            security="starttls",
            user="bot@example.cn",
            password="secret",
            timeout_s=12.0,
            client_id=(("name", "ccerbot"), ("version", "9")),
            folder="收件箱",
            processed="Done",
            quarantine="Held",
            poll_interval_s=7.0,
            idle_timeout_s=120.0,
            since=date(2021, 10, 29),
        )
    )
    assert built.mailbox_key == "bot@example.cn@imap.example/收件箱"


def test_no_password_is_an_empty_one() -> None:
    section = ImapConfig(host="127.0.0.1", security="none", user="bot")
    assert ImapSettings.from_section(section).password == ""
