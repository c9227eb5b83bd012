"""The intake as a service: waiting for mail (IDLE or polling), stopping, surviving a server restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from mail.imap_source import ImapIntake, ImapSettings
from mail.intake import IntakeConfig, Outcome
from tests.intake_imap.conftest import deliver_to_maildir, settings_for
from tests.intake_imap.messages import NOW, sample
from tests.servers import free_port
from tests.servers.dovecot import Dovecot, ImapAccount

# A guard against a hung test, not a measurement: everything here normally takes well under a second.
GUARD_S = 30.0


def clock() -> datetime:
    return NOW


@asynccontextmanager
async def running(
    settings: ImapSettings, engine: Engine, config: IntakeConfig
) -> AsyncIterator[tuple[ImapIntake, asyncio.Queue[Outcome]]]:
    intake = ImapIntake(settings)
    taken: asyncio.Queue[Outcome] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(intake.run(engine, config, stop, clock, taken.put_nowait))
    try:
        await asyncio.wait_for(intake.waiting.wait(), GUARD_S)
        yield intake, taken
    finally:
        stop.set()
        await asyncio.wait_for(task, GUARD_S)


async def next_outcome(taken: asyncio.Queue[Outcome]) -> Outcome:
    return await asyncio.wait_for(taken.get(), GUARD_S)


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "polling"])
async def test_mail_that_arrives_while_waiting_is_taken_and_filed(
    idle: bool,
    dovecot: Dovecot,
    imap_account: ImapAccount,
    sqlite_engine: Engine,
    intake_config: IntakeConfig,
) -> None:
    settings = settings_for(imap_account, idle=idle, poll_interval_s=0.2)
    async with running(settings, sqlite_engine, intake_config) as (_intake, taken):
        await asyncio.to_thread(dovecot.append, imap_account.user, sample("001-roster"))
        outcome = await next_outcome(taken)

    assert (outcome.outcome, outcome.kind, outcome.rows_applied) == ("applied", "roster", 8)
    assert dovecot.folder_uids(imap_account.user, "INBOX") == []
    assert len(dovecot.folder_uids(imap_account.user, "Processed")) == 1


async def test_stop_ends_the_service_and_logs_out(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    async with running(settings_for(imap_account), sqlite_engine, intake_config) as (intake, _taken):
        pass
    assert not intake.waiting.is_set()
    assert intake.reconnects == 0


async def test_a_server_restart_during_idle_is_survived_and_mail_delivered_meanwhile_is_taken(
    dovecot: Dovecot,
    imap_account: ImapAccount,
    sqlite_engine: Engine,
    intake_config: IntakeConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mail.imap_source")
    try:
        async with running(settings_for(imap_account), sqlite_engine, intake_config) as (intake, taken):
            await asyncio.to_thread(dovecot.stop)
            deliver_to_maildir(dovecot, imap_account.user, sample("002-roster"))  # while IMAP is down
            await asyncio.to_thread(dovecot.start)
            outcome = await next_outcome(taken)
    finally:
        if not dovecot.running:
            dovecot.start()

    assert (outcome.outcome, outcome.province) == ("applied", "广东省")
    assert intake.reconnects >= 1
    assert "connection lost" in caplog.text and "reconnecting" in caplog.text
    assert dovecot.folder_uids(imap_account.user, "INBOX") == []


async def test_caught_up_is_told_once_the_mail_waiting_at_start_is_taken_in(
    dovecot: Dovecot, imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    """The service's first tick waits for this: before it, the state is older than the mail waiting."""
    settings = settings_for(imap_account)
    async with running(settings, sqlite_engine, intake_config):
        pass  # the mailbox's first look: mail from now on is taken
    for name in ("001-roster", "002-roster", "003-weekly"):
        await asyncio.to_thread(dovecot.append, imap_account.user, sample(name))
    caught_up, stop = asyncio.Event(), asyncio.Event()
    told_before: list[bool] = []
    intake = ImapIntake(settings)
    task = asyncio.create_task(
        intake.run(
            sqlite_engine,
            intake_config,
            stop,
            clock,
            lambda outcome: told_before.append(caught_up.is_set()),
            caught_up=caught_up,
        )
    )
    try:
        await asyncio.wait_for(caught_up.wait(), GUARD_S)
    finally:
        stop.set()
        await asyncio.wait_for(task, GUARD_S)
    assert told_before == [False, False, False]


async def test_a_server_down_at_start_does_not_hold_the_schedule_back(
    imap_account: ImapAccount, sqlite_engine: Engine, intake_config: IntakeConfig
) -> None:
    settings = settings_for(imap_account, port=free_port(), reconnect_initial_s=5.0)
    caught_up, stop = asyncio.Event(), asyncio.Event()
    intake = ImapIntake(settings)
    task = asyncio.create_task(intake.run(sqlite_engine, intake_config, stop, clock, caught_up=caught_up))
    try:
        await asyncio.wait_for(caught_up.wait(), GUARD_S)
    finally:
        stop.set()
        await asyncio.wait_for(task, GUARD_S)
    assert intake.reconnects == 1
