"""Untrusted bytes are read in a worker process under a memory limit: a message that needs more is
stopped and quarantined once with the reason, and the next message is read as usual."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine

from mail.intake import take
from mail.sandbox import MiB, Sandbox
from storage import inbox
from tests.intake.world import CONFIG, LATER, SD, SD_UNITS, at, roster_mail
from tests.mail.corpus import build_message


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(memory_bytes=250 * MiB, wall_s=300)
    yield box
    box.close()


def test_a_message_over_the_memory_limit_is_quarantined_once(sqlite_engine: Engine, sandbox: Sandbox) -> None:
    config = replace(CONFIG, sandbox=sandbox)
    # under every size cap, over the memory limit
    cells = "<table>" + ("<tr><td>" + "汉" * 30 + "<td>" + "汉" * 30) * 120_000 + "</table>"
    bomb = build_message(
        sender=SD, to="bot@example.cn", subject="名录", date=at("2021-10-25T14:00"), html_body=cells
    )
    outcome = take(sqlite_engine, bomb, "bomb.eml", config, LATER)
    assert outcome.outcome == "quarantined"
    assert "读取邮件所需内存超过 250 MB" in (outcome.reason or "")
    assert take(sqlite_engine, bomb, "bomb.eml", config, LATER).outcome == "duplicate"
    [kept] = inbox.quarantined(sqlite_engine)
    assert kept.attempts == 1
    assert take(sqlite_engine, roster_mail(SD, SD_UNITS), "ok.eml", config, LATER).outcome == "applied"
