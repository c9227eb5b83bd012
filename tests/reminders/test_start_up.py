"""`ccerbot run` started over mail that waited for it: the first tick looks at the state once that mail
is in, not at the state the last run left."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sqlalchemy import func, select

from bot.config import Settings
from bot.context import AppContext
from bot.notices.anomalies import enqueue_new_anomalies
from bot.service import TICK_S, serve
from mail.intake import take
from storage import outbox
from storage.engine import session_scope
from storage.migrate import upgrade
from storage.models import InboundMessage
from tests.intake.stalling import STALL, stalling_read
from tests.reminders.helpers import GUARD_S, settings, wait_until
from tests.servers.botapi import BotApiServer

TAKEN_BEFORE = 8  # the rosters and the first weekly summaries, with their confirmations
STALL_S = b"1"  # the first waiting message takes a second to read: a tick at start would come before it


def officer_alerts(ctx: AppContext) -> set[str]:
    return {item.key for item in outbox.items(ctx.engine) if item.audience == "officer"}


def done(ctx: AppContext) -> int:
    with session_scope(ctx.engine) as session:
        query = select(func.count()).select_from(InboundMessage).where(InboundMessage.state == "done")
        return int(session.execute(query).scalar_one())


def context(configured: Settings, url: str, **update: object) -> AppContext:
    ctx = AppContext(configured.model_copy(update={"database_url": url, **update}))
    upgrade(ctx.engine)
    return ctx


def take_in(ctx: AppContext, mail: list[Path]) -> None:
    for path in mail:
        take(ctx.engine, path.read_bytes(), str(path), ctx.intake_config(), ctx.now())


def clean_alerts(configured: Settings, mail: list[Path], folder: Path) -> set[str]:
    """The officers' alerts of a run that had all the mail in before it looked."""
    clean = context(configured, f"sqlite:///{folder / 'clean.db'}")
    take_in(clean, mail)
    enqueue_new_anomalies(clean.engine, clean.settings, clean.cycle, clean.now())
    return officer_alerts(clean)


async def test_a_restart_over_waiting_mail_alerts_only_what_all_the_mail_shows(
    samples: Path, sample_settings: Settings, tmp_path: Path
) -> None:
    """An earlier run took in the rosters and weekly summaries; the daily cancellation lists came while
    the bot was down. Started long after the cancellation deadline, it must not tell officers that
    confirmed units were not cancelled when their cancellation lists are in the mail waiting for it."""
    mail = sorted((samples / "mail").glob("*.eml"))
    configured = settings(senders=sample_settings.senders.model_dump())
    expected = clean_alerts(configured, mail, tmp_path)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n, path in enumerate(mail[TAKEN_BEFORE:]):
        stall = STALL + STALL_S + b"\r\n" if n == 0 else b""
        (inbox / path.name).write_bytes(stall + path.read_bytes())
        shutil.copystat(path, inbox / path.name)  # complete files, not ones being written
    restarted = context(configured, f"sqlite:///{tmp_path / 'run.db'}", mail_folder=str(inbox))
    take_in(restarted, mail[:TAKEN_BEFORE])
    restarted.sandbox.reads_with = stalling_read
    stop = asyncio.Event()
    task = asyncio.create_task(serve(restarted, stop, lambda line: None))
    try:
        await wait_until(lambda: done(restarted) == len(mail), "every message taken in")
        await wait_until(lambda: officer_alerts(restarted) >= expected, "the alerts of the whole mail")
    finally:
        stop.set()
        await asyncio.wait_for(task, GUARD_S)
    assert expected, "the mail shows anomalies to alert"
    assert officer_alerts(restarted) == expected


async def test_with_telegram_the_first_tick_comes_at_start(
    samples: Path, sample_settings: Settings, botapi: BotApiServer, tmp_path: Path
) -> None:
    """PTB's JobQueue runs a repeating job first a minute after start: the start-up tick does not wait for
    it. Mail taken in by `ccerbot ingest` while the service was down is looked at straight away."""
    mail = sorted((samples / "mail").glob("*.eml"))
    configured = settings(botapi=botapi, senders=sample_settings.senders.model_dump())
    expected = clean_alerts(configured, mail, tmp_path)
    ctx = context(configured, f"sqlite:///{tmp_path / 'run.db'}")
    take_in(ctx, mail)
    said: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ctx, stop, said.append))
    try:
        await wait_until(
            lambda: officer_alerts(ctx) == expected,
            "the alerts, before JobQueue's first run",
            guard_s=min(GUARD_S, TICK_S / 2),
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, GUARD_S)
    assert any("JobQueue" in line for line in said)
