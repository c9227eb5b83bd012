"""The sender: takes due items from the outbox and delivers them; any number of instances side by side.

Each item goes out once: a sender claims it in one atomic statement (FOR UPDATE SKIP LOCKED on
PostgreSQL), so two senders never hold the same item, and marks it sent in its own transaction as soon as
the channel accepted it.

Where a duplicate can still happen, and why nothing prevents it: if the process dies after Telegram (or
the mail server) accepted a message and before mark_sent commits, the item stays claimed; when the claim
expires (outbox.LEASE) another sender delivers it again. That is at most one duplicate per item per crash.
A timeout is the same case without a crash: the request may have taken effect while its answer was lost,
and it is retried. Telegram's sendMessage has no idempotency key, so no sender can ask whether an earlier
attempt got through; an email carries a Message-ID derived from the outbox key, so its copy is at least
recognisable as the same message.

Items that keep failing are not dropped: after the last attempt (or at once for a permanent refusal) the
item is marked failed and `on_failure` is called, which reports it to officers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.sender.policy import BackOff, RateLimited, classify
from storage import outbox
from storage.engine import session_scope
from storage.models import OutboxItem

log = logging.getLogger(__name__)

FailureHook = Callable[[OutboxItem, str], Awaitable[None]]
SETTLED = ("sent", "failed")
_workers = count(1)
T = TypeVar("T")


class Channel(Protocol):
    name: str

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None: ...


@dataclass(frozen=True)
class SenderConfig:
    batch: int = 100  # items per claim
    in_flight: int = 100  # deliveries under way at once; the rate limiters pace them
    idle_poll_s: float = 2.0  # how often an idle sender looks for retries that have come due
    drain_s: float = 10.0  # on stop, how long deliveries under way may take to finish
    # run_until_settled leaves for later an item a throttled destination gave back for longer than this
    patience_s: float = 30.0
    backoff: BackOff = field(default_factory=BackOff)


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    as_plain_text: int = 0
    rate_limited: int = 0


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{next(_workers)}"


class Sender:
    def __init__(
        self,
        engine: Engine,
        channels: Mapping[str, Channel],
        *,
        worker: str | None = None,
        config: SenderConfig | None = None,
        on_failure: FailureHook | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.channels = dict(channels)
        self.worker = worker or worker_name()
        self.config = config or SenderConfig()
        self.tally = Tally()
        self._on_failure = on_failure
        self._clock = clock
        self._wake = asyncio.Event()
        self.deferred: set[str] = set()  # keys given back by a throttled destination for a long while
        # The outbox is read and written from one thread of the sender's own: spread over the event
        # loop's pool, each of its threads held a database connection with its page cache and a malloc
        # arena of its own, 14 MB more while sending; SQLite takes one writer at a time anyway.
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")

    async def _in_database(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._database, partial(call, *args))

    def wake(self) -> None:
        """New items were written: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then let the deliveries under way finish."""
        await self._pump(stop, settled=None)

    async def run_until_settled(self, keys: Collection[str]) -> dict[str, str]:
        """Deliver until every item under `keys` is sent or failed (by any sender), or given back by a
        throttled destination for longer than `patience_s` (left pending for the service); their states."""
        wanted = frozenset(keys)
        done = asyncio.Event()

        async def settled() -> bool:
            # items of a channel this sender does not have are left for one that has it
            rows = await self._in_database(_states_and_channels, self.engine, wanted)
            return all(
                state in SETTLED or (state == "pending" and key in self.deferred)
                for key, (state, channel) in rows.items()
                if channel in self.channels
            )

        if self.channels and wanted:
            await self._pump(done, settled)
        return await self._in_database(item_states, self.engine, wanted)

    async def _pump(self, stop: asyncio.Event, settled: Callable[[], Awaitable[bool]] | None) -> None:
        flying: set[asyncio.Task[None]] = set()
        threshold = max(1, self.config.in_flight // 2)
        drained = False  # the last claim found fewer items than it asked for
        try:
            while not stop.is_set():
                flying = {task for task in flying if not task.done()}
                room = self.config.in_flight - len(flying)
                if not drained and room >= threshold:
                    asked = min(room, self.config.batch)
                    claimed = await self._claim(asked, quiet=settled is None)
                    flying |= {asyncio.create_task(self._deliver(item)) for item in claimed}
                    drained = len(claimed) < asked
                    if not drained:
                        continue
                if drained and not flying and settled is not None and await settled():
                    return
                woken = await self._wait(stop, flying, timeout=self.config.idle_poll_s if drained else None)
                drained = drained and not woken
        finally:
            await self._finish(flying)

    async def _wait(
        self, stop: asyncio.Event, flying: set[asyncio.Task[None]], timeout: float | None
    ) -> bool:
        """Until a delivery ends, items are announced, `stop` is set or the poll is due.

        True unless a delivery ended first.
        """
        wake = asyncio.create_task(self._wake.wait())
        halt = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {wake, halt, *flying}, timeout=timeout, return_when="FIRST_COMPLETED"
            )
        finally:
            wake.cancel()
            halt.cancel()
        woken = self._wake.is_set()
        self._wake.clear()
        return not done or woken or halt in done

    async def _finish(self, flying: set[asyncio.Task[None]]) -> None:
        if not flying:
            return
        _, late = await asyncio.wait(flying, timeout=self.config.drain_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _claim(self, limit: int, quiet: bool) -> list[OutboxItem]:
        """Due items; in a running service a database outage claims nothing until the next poll."""
        try:
            return await self._in_database(
                outbox.claim, self.engine, self.worker, self._clock(), limit, list(self.channels)
            )
        except Exception:
            if not quiet:
                raise
            log.exception("outbox: could not claim items; trying again at the next poll")
            return []

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            await self._deliver_one(item)
        except Exception:
            # the database failed while recording the outcome: the claim expires and the item is sent
            # again, as after a crash
            log.exception("outbox item %s: could not record the outcome", item.id)

    async def _deliver_one(self, item: OutboxItem) -> None:
        channel = self.channels[item.channel]
        try:
            await self._attempt(channel, item)
        except asyncio.CancelledError:
            # Stopping: hand the item back now instead of after the lease. It may already have reached the
            # chat if the request was under way (the duplicate case described above).
            outbox.mark_retry(self.engine, item.id or 0, "sender stopped", self._clock())
            raise
        except Exception as error:
            await self._attempt_failed(item, error)
            return
        await asyncio.shield(self._in_database(outbox.mark_sent, self.engine, item.id or 0, self._clock()))
        self.tally.sent += 1
        self.deferred.discard(item.key)

    async def _attempt(self, channel: Channel, item: OutboxItem) -> None:
        try:
            await channel.deliver(item)
        except Exception as error:
            if classify(error).action != "plain":
                raise
            log.info("outbox item %s: %s; sending it as plain text", item.id, error)
            self.tally.as_plain_text += 1
            await channel.deliver(item, plain=True)

    async def _attempt_failed(self, item: OutboxItem, error: Exception) -> None:
        decision = classify(error)
        if isinstance(error, RateLimited):
            self.tally.rate_limited += 1
        if decision.action == "retry":
            delay = self.config.backoff.delay(item.attempts, decision.retry_after)
            retry_at = self._clock() + timedelta(seconds=delay)
            kept = await self._in_database(
                outbox.mark_retry, self.engine, item.id or 0, decision.reason, retry_at
            )
            if kept:
                log.info("outbox item %s: %s; again in %.1f s", item.id, decision.reason, delay)
                self.tally.retried += 1
                if decision.retry_after is not None and delay > self.config.patience_s:
                    self.deferred.add(item.key)
                return
        else:
            await self._in_database(outbox.mark_failed, self.engine, item.id or 0, decision.reason)
        self.deferred.discard(item.key)
        log.warning("outbox item %s (%s) failed for good: %s", item.id, item.key, decision.reason)
        self.tally.failed += 1
        if self._on_failure is not None:
            await self._on_failure(item, decision.reason)
            self.wake()


def item_states(engine: Engine, keys: Collection[str]) -> dict[str, str]:
    """The state of each item under `keys` (absent keys are left out)."""
    return {key: state for key, (state, _) in _states_and_channels(engine, keys).items()}


def _states_and_channels(engine: Engine, keys: Collection[str]) -> dict[str, tuple[str, str]]:
    wanted = list(keys)
    found: dict[str, tuple[str, str]] = {}
    with session_scope(engine) as session:
        for start in range(0, len(wanted), 500):  # keep each IN list short
            query = select(OutboxItem.key, OutboxItem.state, OutboxItem.channel).where(
                col(OutboxItem.key).in_(wanted[start : start + 500])
            )
            found.update((key, (state, channel)) for key, state, channel in session.exec(query))
    return found
