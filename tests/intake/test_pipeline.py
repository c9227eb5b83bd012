"""`take_all` reads the next message in the worker while this process applies the last one: the states
and outcomes are those of taking the messages one by one, in order, and a message over the worker's
limits in the middle of a batch is quarantined once while the ones after it still apply."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from compliance.creditcode import make_code
from mail import intake
from mail.intake import Outcome, resume, take, take_all
from mail.sandbox import MiB, Sandbox
from storage import inbox
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.db import transactions, upgraded_engine
from tests.intake.world import (
    CONFIG,
    GD,
    GD_UNITS,
    LATER,
    SD,
    SD_UNITS,
    Unit,
    at,
    daily_rows,
    daily_subject,
    roster_mail,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.mail.corpus import build_message

POISON = Unit("山东省", "毒丸测试有限公司", make_code("91370900MA3C00007"), "371000000007", 1_000_000)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(memory_bytes=250 * MiB, wall_s=300)
    yield box
    box.close()


def poisoned(url: str) -> Engine:
    """A database whose insert of one unit always fails, as a full disk would: retried, then quarantined."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON rosterentry WHEN NEW.name = '毒丸测试有限公司' "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        )
    return engine


def a_mix() -> list[tuple[bytes, str]]:
    sd_roster = roster_mail(SD, SD_UNITS)
    weekly = xlsx_mail(
        SD,
        weekly_subject("山东省", "2021年11月26日"),
        "2021-11-26T16:00",
        weekly_rows([(SD_UNITS[0], 30_000, "已确认"), (SD_UNITS[1], 10_000, "待确认")], "2021年11月26日"),
    )
    daily = xlsx_mail(
        GD,
        daily_subject("广东省", "2021-11-30"),
        "2021-11-30T18:00",
        daily_rows([("2021-11-30 10:00", GD_UNITS[0].name, GD_UNITS[0].code, 700_000, 5_000)]),
    )
    same_id = build_message(
        sender=SD, to="bot@example.cn", subject="名录", date=at("2021-10-25T16:00"), message_id="<one@sd>"
    )
    again_id = build_message(
        sender=SD, to="bot@example.cn", subject="更正", date=at("2021-10-25T17:00"), message_id="<one@sd>"
    )
    screenshot = build_message(
        sender="unit1@example.cn",  # 广州's contact address on its roster
        to="bot@example.cn",
        subject="CCER注销截图（盖章）",
        date=at("2021-12-01T10:00"),
        attachments=[("注销截图.pdf", b"%PDF-1.4\n% a stamped screenshot\n", "application/pdf")],
    )
    return [
        (sd_roster, "1-roster.eml"),
        (roster_mail("someone@evil.example", SD_UNITS), "2-stranger.eml"),
        (sd_roster, "3-same-bytes.eml"),  # repeats the message just before the one before it
        (roster_mail(SD, [*SD_UNITS, POISON], "2021-10-25T15:30"), "4-poison.eml"),
        (roster_mail(GD, GD_UNITS), "5-gd-roster.eml"),
        (roster_mail(GD, GD_UNITS), "6-same-bytes-at-once.eml"),  # repeats the one in flight
        (weekly, "7-weekly.eml"),
        (same_id, "8-no-table.eml"),
        (again_id, "9-same-message-id.eml"),
        (daily, "10-daily.eml"),
        (b"\x00\xff not mail at all", "11-garbage.eml"),
        (screenshot, "12-screenshot.eml"),  # filed from its attachment: the file crosses from the worker
        (sd_roster, "13-same-bytes-late.eml"),
    ]


def state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by primary key."""
    dumped: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            dumped[table.name] = [tuple(row) for row in connection.execute(query)]
    return dumped


def summary(outcomes: list[Outcome]) -> list[tuple[Any, ...]]:
    return [
        (o.source, o.message_pk, o.kind, o.outcome, o.rows_applied, o.reason, o.sender, o.province, o.trusted)
        for o in outcomes
    ]


def test_the_pipeline_leaves_the_state_and_outcomes_of_taking_one_by_one(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    mix = a_mix()
    one_by_one = poisoned(f"sqlite:///{tmp_path / 'one.db'}")
    alone = [take(one_by_one, raw, source, CONFIG, LATER) for raw, source in mix]
    pipelined = poisoned(f"sqlite:///{tmp_path / 'pipelined.db'}")
    config = replace(CONFIG, sandbox=sandbox)

    together = list(take_all(pipelined, mix, config, lambda: LATER))

    assert summary(together) == summary(alone)
    outcomes = [o.outcome for o in together]
    assert outcomes.count("duplicate") == 4 and outcomes.count("quarantined") == 4  # the mix is mixed
    assert [o.rows_applied for o in together if o.kind == "screenshot"] == [2]  # both units at that address
    assert state(pipelined) == state(one_by_one)
    [poison] = [m for m in inbox.quarantined(pipelined) if m.source == "4-poison.eml"]
    assert poison.attempts == inbox.MAX_ATTEMPTS and "disk says no" in (poison.reason or "")
    assert inbox.unfinished(pipelined) == []


def test_a_message_over_the_workers_memory_in_a_batch_is_quarantined_and_the_next_ones_apply(
    sqlite_engine: Engine, sandbox: Sandbox
) -> None:
    cells = "<table>" + ("<tr><td>" + "汉" * 30 + "<td>" + "汉" * 30) * 120_000 + "</table>"
    bomb = build_message(
        sender=SD, to="bot@example.cn", subject="名录", date=at("2021-10-25T14:00"), html_body=cells
    )
    batch = [
        (roster_mail(SD, SD_UNITS), "1.eml"),
        (bomb, "2-bomb.eml"),
        (roster_mail(GD, GD_UNITS), "3.eml"),
        (roster_mail(SD, SD_UNITS[:2], "2021-10-26T10:00"), "4.eml"),
    ]
    config = replace(CONFIG, sandbox=sandbox)

    outcomes = list(take_all(sqlite_engine, batch, config, lambda: LATER))

    assert [o.outcome for o in outcomes] == ["applied", "quarantined", "applied", "applied"]
    assert "读取邮件所需内存超过 250 MB" in (outcomes[1].reason or "")
    [kept] = inbox.quarantined(sqlite_engine)
    assert kept.source == "2-bomb.eml" and kept.attempts == 1
    again = list(take_all(sqlite_engine, batch[1:2], config, lambda: LATER))
    assert [o.outcome for o in again] == ["duplicate"]  # stored before it was read: never read again


def test_a_batch_left_half_way_leaves_only_the_messages_stored_ahead_to_resume(
    sqlite_engine: Engine, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping after the first outcome, as a crash would: the message applied is done; the ones handed to
    the worker (the sandbox's depth) and the ones stored ahead with them, two at a time here, are stored
    and counted; nothing after them was stored."""
    monkeypatch.setattr(intake, "STORE_AHEAD", 2)
    batch = [
        (roster_mail(SD, SD_UNITS), "1.eml"),
        (roster_mail(GD, GD_UNITS), "2.eml"),
        (roster_mail(SD, SD_UNITS[:2], "2021-10-26T10:00"), "3.eml"),
        (b"x", "4.eml"),
        (roster_mail(GD, GD_UNITS[:1], "2021-10-26T11:00"), "5.eml"),
    ]
    two = Sandbox(memory_bytes=250 * MiB, wall_s=300, depth=2)
    config = replace(CONFIG, sandbox=two)

    pipeline = take_all(sqlite_engine, batch, config, lambda: LATER)
    assert next(pipeline).outcome == "applied"
    pipeline.close()
    two.close()

    left = inbox.unfinished(sqlite_engine)
    assert [(m.source, m.state, m.attempts) for m in left] == [
        ("2.eml", "processing", 1),
        ("3.eml", "processing", 1),
        ("4.eml", "processing", 1),
    ]
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM inboundmessage")).scalar() == 4
    outcomes = resume(sqlite_engine, replace(config, sandbox=None), LATER)
    assert [(o.source, o.outcome) for o in outcomes] == [
        ("2.eml", "applied"),
        ("3.eml", "applied"),
        ("4.eml", "quarantined"),
    ]


@pytest.mark.parametrize("cap, stored_together", [(None, [5]), ("two", [2, 2, 1])])
def test_the_next_messages_are_stored_a_few_at_once_within_a_cap_of_bytes(
    sqlite_engine: Engine,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    cap: str | None,
    stored_together: list[int],
) -> None:
    """One transaction stores the next few messages (at most STORE_AHEAD), fewer once their bytes reach
    STORE_AHEAD_BYTES: messages 1 and 2 reach a cap of their two sizes, and so do 3 and 4, larger."""
    mails = [roster_mail(*who, f"2021-10-26T1{n}:00") for n, who in enumerate(
        [(SD, SD_UNITS[:1]), (GD, GD_UNITS[:1]), (SD, SD_UNITS[:2]), (GD, GD_UNITS[:2]), (SD, SD_UNITS)]
    )]  # fmt: skip
    assert len(mails[2]) >= len(mails[0]) and len(mails[3]) >= len(mails[1])
    if cap == "two":
        monkeypatch.setattr(intake, "STORE_AHEAD_BYTES", len(mails[0]) + len(mails[1]))
    batch = [(mail, f"{n}.eml") for n, mail in enumerate(mails)]

    with transactions(sqlite_engine) as committed:
        outcomes = list(take_all(sqlite_engine, batch, replace(CONFIG, sandbox=sandbox), lambda: LATER))

    assert [o.outcome for o in outcomes] == ["applied"] * 5
    stores = [t.sent("INSERT INTO inboundmessage") for t in committed]
    assert [n for n in stores if n] == stored_together


def test_on_postgres_only_the_commits_that_store_a_message_wait_for_the_disk(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """A message's bytes are its only copy once its source lets it go: the commit that stores them waits
    for the disk. Applying or quarantining it can be redone from them (`resume`): those commits do not."""
    batch = [(mail, f"{n}.eml") for n, (mail, _) in enumerate(a_mix()[:10])]
    with upgraded_engine("postgres", tmp_path) as engine, transactions(engine) as committed:
        outcomes = list(take_all(engine, batch, replace(CONFIG, sandbox=sandbox), lambda: LATER))
        assert [take(engine, batch[4][0], "again.eml", CONFIG, LATER).outcome] == ["duplicate"]
    assert {o.outcome for o in outcomes} >= {"applied", "quarantined", "duplicate"}
    stores = [t for t in committed if t.sent("INSERT INTO inboundmessage")]
    applies = [t for t in committed if t.sent("UPDATE inboundmessage SET") and t not in stores]
    assert len(stores) >= 2 and len(applies) >= 4
    assert all(t.waited for t in stores)
    assert not any(t.waited for t in applies)
