"""Each group robot kept under its platform's rate: a sliding window per robot, shared by every sender task.

A slot is held for the whole request and its time is taken when the answer has arrived. The platform
received the request before that moment, so spacing the next requests from it keeps every window the
platform can look at (sliding or on the minute) under the limit, however the network delays requests.

A robot the platform has throttled (WeCom 45009 for a minute, DingTalk 130101 for ten) is not waited for
in place: Busy at once, with the time it is throttled until, so the item goes back to the outbox with that
retry time and every other robot and channel goes on.

Requests to one robot therefore go one at a time, which costs nothing at 20 a minute and little at 5 a
second. The window lives in this process: several sender processes each keep their own, and the platform's
throttle answer (retried) is what remains between them.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
# a digest of a few parts to a 20-a-minute robot waits for its slots; a longer wait goes back to the outbox
MAX_WAIT_S = 90.0


@dataclass(frozen=True)
class Rate:
    count: int
    period_s: float


class Busy(Exception):
    """The robot has no slot within the wait allowed; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"no slot for {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass
class _Robot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stamps: deque[float] = field(default_factory=deque)
    paused_until: float = float("-inf")


class RobotLimiter:
    """Per-robot slots, keyed by the webhook address."""

    def __init__(
        self, *, max_wait_s: float = MAX_WAIT_S, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._robots: dict[str, _Robot] = {}

    @asynccontextmanager
    async def slot(self, key: str, rates: Sequence[Rate]) -> AsyncIterator[None]:
        """Wait for the robot's next slot (Busy if it is further than max_wait_s), then hold it."""
        robot = self._robots.setdefault(key, _Robot())
        started = self._clock()
        await self._acquire(robot, rates)
        try:
            await self._wait_turn(robot, rates, started)
        except BaseException:
            robot.lock.release()
            raise
        try:
            yield
        finally:
            self._record(robot, rates)
            robot.lock.release()

    def pause(self, key: str, seconds: float) -> None:
        """The platform stopped this robot for `seconds`: nothing is sent to it before then."""
        robot = self._robots.setdefault(key, _Robot())
        robot.paused_until = max(robot.paused_until, self._clock() + seconds)

    def wait_for(self, key: str, rates: Sequence[Rate]) -> float:
        """Seconds until the robot's next slot, not counting requests under way."""
        robot = self._robots.get(key)
        return 0.0 if robot is None else self._pending(robot, rates)

    async def _acquire(self, robot: _Robot, rates: Sequence[Rate]) -> None:
        try:
            await asyncio.wait_for(robot.lock.acquire(), timeout=self.max_wait_s)
        except TimeoutError:
            raise Busy(max([r.period_s for r in rates], default=self.max_wait_s)) from None

    async def _wait_turn(self, robot: _Robot, rates: Sequence[Rate], started: float) -> None:
        throttled = robot.paused_until - self._clock()
        if throttled > 0:
            raise Busy(throttled)
        while (pending := self._pending(robot, rates)) > 0:
            if self._clock() + pending - started > self.max_wait_s:
                raise Busy(pending)
            await self._sleep(pending)

    def _pending(self, robot: _Robot, rates: Sequence[Rate]) -> float:
        now = self._clock()
        due = robot.paused_until
        for rate in rates:
            if len(robot.stamps) >= rate.count:
                due = max(due, robot.stamps[-rate.count] + rate.period_s)
        return max(0.0, due - now)

    def _record(self, robot: _Robot, rates: Sequence[Rate]) -> None:
        robot.stamps.append(self._clock())
        keep = max([r.count for r in rates], default=1)
        while len(robot.stamps) > keep:
            robot.stamps.popleft()
