"""The per-robot rate limiter, on a clock the test moves (no real waiting, no measured durations)."""

from __future__ import annotations

import asyncio

import pytest

from bot.groups.limits import Busy, Rate, RobotLimiter

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def limiter(fake: FakeTime, max_wait_s: float = 90.0) -> RobotLimiter:
    return RobotLimiter(max_wait_s=max_wait_s, clock=fake.clock, sleep=fake.sleep)


async def send(limit: RobotLimiter, rates: tuple[Rate, ...], key: str = URL) -> None:
    async with limit.slot(key, rates):
        pass


async def test_slots_within_the_rate_do_not_wait(fake: FakeTime) -> None:
    limit = limiter(fake)
    for _ in range(20):
        await send(limit, (Rate(20, 60.0),))
    assert fake.slept == []


async def test_the_next_slot_is_a_full_period_after_the_oldest_in_the_window(fake: FakeTime) -> None:
    limit = limiter(fake)
    rates = (Rate(3, 60.0),)
    for _ in range(3):
        await send(limit, rates)
        fake.now += 5.0
    await send(limit, rates)  # the first went at 1000, it is now 1015
    assert fake.slept == [45.0]
    assert limit.wait_for(URL, rates) == pytest.approx(5.0)  # the second went at 1005


async def test_the_stricter_of_two_rates_decides(fake: FakeTime) -> None:
    limit = limiter(fake)
    rates = (Rate(2, 1.0), Rate(3, 60.0))
    for _ in range(3):
        await send(limit, rates)
    assert fake.slept == [1.0]  # the third waited for the per-second rate
    await send(limit, rates)
    assert fake.slept == [1.0, 59.0]  # the fourth for the per-minute one


async def test_a_slot_is_timed_from_the_end_of_its_request(fake: FakeTime) -> None:
    limit = limiter(fake)
    rates = (Rate(1, 10.0),)
    async with limit.slot(URL, rates):
        fake.now += 4.0  # the request took 4 s: the platform may have counted it at any moment of those
    await send(limit, rates)
    assert fake.slept == [10.0]


async def test_robots_are_limited_apart(fake: FakeTime) -> None:
    limit = limiter(fake)
    rates = (Rate(1, 60.0),)
    await send(limit, rates, "a")
    await send(limit, rates, "b")
    assert fake.slept == []


async def test_a_slot_further_than_the_wait_allowed_is_busy(fake: FakeTime) -> None:
    limit = limiter(fake, max_wait_s=30.0)
    rates = (Rate(1, 60.0),)
    await send(limit, rates)
    with pytest.raises(Busy) as busy:
        await send(limit, rates)
    assert busy.value.retry_after == pytest.approx(60.0)
    assert fake.slept == []
    fake.now += 59.0
    await send(limit, rates)  # Busy took no slot and left the robot unlocked
    assert fake.slept == [1.0]


async def test_a_paused_robot_is_busy_until_the_pause_ends(fake: FakeTime) -> None:
    limit = limiter(fake)
    limit.pause(URL, 600.0)
    with pytest.raises(Busy) as busy:
        await send(limit, (Rate(20, 60.0),))
    assert busy.value.retry_after == pytest.approx(600.0)
    fake.now += 600.0
    await send(limit, (Rate(20, 60.0),))
    assert fake.slept == []


async def test_concurrent_senders_take_turns(fake: FakeTime) -> None:
    limit = limiter(fake, max_wait_s=1000.0)
    rates = (Rate(2, 60.0),)
    order: list[int] = []

    async def one(n: int) -> None:
        async with limit.slot(URL, rates):
            order.append(n)

    await asyncio.gather(*(one(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert fake.slept == [60.0, 60.0]  # 2 at once, then 2 a minute later, then 1 more


async def test_a_robot_paused_for_less_than_the_wait_allowed_is_busy_at_once(fake: FakeTime) -> None:
    # WeCom's 45009 stops a robot for a minute: waiting it out in place held `reminders --send` 64 s
    limit = limiter(fake, max_wait_s=90.0)
    limit.pause(URL, 60.0)
    with pytest.raises(Busy) as busy:
        await send(limit, (Rate(20, 60.0),))
    assert busy.value.retry_after == pytest.approx(60.0)
    assert fake.slept == []
