"""deliver() against the loopback server of each platform: digests, splitting, rates, refusals, outages."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.groups import dingtalk, feishu, wecom
from bot.groups.client import PLATFORMS, deliver
from bot.groups.limits import Rate, RobotLimiter
from bot.groups.platform import Rules
from tests.groups.helpers import SECRET, ServerFactory, group, signed_robot
from tests.servers import free_port

ALERTS = [
    "【山东省】CCER 抵销申请待确认（截止 2021年12月15日 17:00）\n抵销申请待确认 2 家，尚未申请 5 家。",
    "【山东省】异常：注销量超过确认的抵销量\n单位：华能某电厂（91370000MA3C000001）",
    "【山东省】距 95% 还差 3 家\n未完成（3 家）：甲电厂、乙电厂、丙电厂",
]
# a fast robot for the tests: the platform's rates scaled down to fractions of a second
FAST = {
    "wecom": ((4, 0.1),),
    "dingtalk": ((4, 0.1),),
    "feishu": ((2, 0.05), (5, 0.2)),
}
# the throttle answer's pause, scaled down on the server; the client's is its own
SERVER_THROTTLE_S = 0.2
THROTTLED = {"wecom": 45009, "dingtalk": 130101, "feishu": 11232}


def rules(
    kind: str, *, max_bytes: int | None = None, rates: tuple[tuple[int, float], ...] | None = None
) -> Rules:
    base = PLATFORMS[kind].RULES
    return dataclasses.replace(
        base,
        max_bytes=max_bytes or base.max_bytes,
        rates=tuple(Rate(c, p) for c, p in (rates or FAST[kind])),
    )


async def test_alerts_due_together_reach_the_group_as_one_message(
    kind: str, start_server: ServerFactory
) -> None:
    server = start_server(kind)
    robot = signed_robot(server, kind)
    result = await deliver(robot, ALERTS)
    assert result.ok and result.delivered == 3 and result.error is None
    [message] = server.delivered(robot.url)
    assert message.startswith("【CCER 履约提醒】共 3 条")
    assert [message.index(alert) for alert in ALERTS] == sorted(message.index(alert) for alert in ALERTS)


async def test_long_content_is_split_at_the_platform_limit(kind: str, start_server: ServerFactory) -> None:
    limit = 700
    server = start_server(kind, max_bytes=limit, rates=FAST[kind])
    robot = signed_robot(server, kind, keyword="CCER" if kind != "wecom" else None)
    roster = "\n".join(f"{i:02d} 某某发电有限公司（9137000000000000{i:02d}）" for i in range(60))
    texts = [*ALERTS, roster, "单行" * 400]
    result = await deliver(robot, texts, rules=rules(kind, max_bytes=limit))
    assert result.ok and result.delivered == len(texts)
    received = server.received(robot.url)
    assert len(received) > 3 and all(r.code == 0 for r in received)
    counted = [len(r.content.encode()) if kind == "wecom" else r.size for r in received if r.content]
    assert max(counted) <= limit
    delivered = "\n".join(server.delivered(robot.url))
    assert all(f"某某发电有限公司（9137000000000000{i:02d}）" in delivered for i in range(60))
    assert all(m.startswith("【CCER 履约提醒】共 5 条（第 ") for m in server.delivered(robot.url))


async def test_the_platform_size_is_the_default(kind: str, start_server: ServerFactory) -> None:
    server = start_server(kind, rates=FAST[kind])  # the platform's size, a faster rate
    robot = signed_robot(server, kind)
    big = "\n".join("全国碳排放权注册登记系统" * 10 for _ in range(200))  # about 72,000 bytes
    result = await deliver(robot, [big], rules=rules(kind))
    assert result.ok
    parts = server.delivered(robot.url)
    assert len(parts) > 1 and server.codes(robot.url) == [0] * len(parts)


async def test_each_robot_is_kept_under_its_rate(kind: str, start_server: ServerFactory) -> None:
    server = start_server(kind, rates=FAST[kind], throttle_s=SERVER_THROTTLE_S)
    robot = signed_robot(server, kind)
    limiter = RobotLimiter()
    results = await asyncio.gather(
        *(deliver(robot, [f"提醒 {n}"], limiter=limiter, rules=rules(kind)) for n in range(10))
    )
    assert all(r.ok for r in results)
    assert len(server.delivered(robot.url)) == 10
    assert server.rate_violations(robot.url) == 0


async def test_a_robot_over_its_rate_is_retried_after_the_platform_pause(
    kind: str, start_server: ServerFactory
) -> None:
    server = start_server(kind, rates=((2, 60.0),), throttle_s=SERVER_THROTTLE_S)
    robot = signed_robot(server, kind)
    # a client that ignores the rate, and pauses longer than a delivery may wait once throttled
    careless = dataclasses.replace(rules(kind, rates=((100, 0.001),)), throttle_s=300.0)
    limiter = RobotLimiter()
    results = await asyncio.gather(
        *(deliver(robot, [f"提醒 {n}"], limiter=limiter, rules=careless) for n in range(6))
    )
    throttled = [r for r in results if not r.ok]
    assert len(throttled) == 4
    # one request went beyond the rate; the platform's answer held the three others back
    assert server.rate_violations(robot.url) == 1 and len(server.received(robot.url)) == 3
    assert all(not r.permanent and r.retry_after == pytest.approx(300.0, abs=1.0) for r in throttled)
    assert f"{kind} {THROTTLED[kind]}:" in " ".join(r.error or "" for r in throttled)
    # the limiter now holds the robot back: nothing more reaches the platform until the pause is over
    before = len(server.received(robot.url))
    later = await deliver(robot, ["稍后"], limiter=limiter, rules=careless)
    assert not later.ok and not later.permanent and later.retry_after is not None and later.retry_after > 200
    assert len(server.received(robot.url)) == before


async def test_a_digest_that_needs_more_slots_than_it_may_wait_for_goes_back_in_part(
    kind: str, start_server: ServerFactory
) -> None:
    server = start_server(kind, max_bytes=600, rates=((2, 30.0),))
    robot = signed_robot(server, kind)
    slow = rules(kind, max_bytes=600, rates=((2, 30.0),))
    texts = ["甲" * 100, "乙" * 100, "丙" * 100, "丁" * 100]  # one text a message
    result = await deliver(robot, texts, limiter=RobotLimiter(max_wait_s=0.5), rules=slow)
    assert not result.ok and not result.permanent
    assert result.delivered == 2 and result.retry_after is not None and result.retry_after > 25
    assert len(server.delivered(robot.url)) == 2 and server.rate_violations(robot.url) == 0


async def test_a_wrong_secret_is_permanent(signing_kind: str, start_server: ServerFactory) -> None:
    server = start_server(signing_kind)
    url = server.add_robot(secret=SECRET)
    result = await deliver(group(signing_kind, url, "SECnot-the-right-one"), ALERTS)
    assert not result.ok and result.permanent and result.delivered == 0
    assert ("310000" if signing_kind == "dingtalk" else "19021") in (result.error or "")
    assert server.delivered(url) == []


async def test_a_missing_keyword_is_permanent(signing_kind: str, start_server: ServerFactory) -> None:
    server = start_server(signing_kind)
    url = server.add_robot(keyword="监控报警")
    result = await deliver(group(signing_kind, url), ALERTS)
    assert not result.ok and result.permanent
    assert ("keywords not in content" if signing_kind == "dingtalk" else "19024") in (result.error or "")


async def test_the_keyword_ccer_is_in_every_message(signing_kind: str, start_server: ServerFactory) -> None:
    server = start_server(signing_kind, max_bytes=500)
    url = server.add_robot(keyword="CCER")
    platform_rates = tuple((r.count, r.period_s) for r in PLATFORMS[signing_kind].RULES.rates)
    result = await deliver(
        group(signing_kind, url),
        ["无关键词的长文本" * 100],
        rules=rules(signing_kind, max_bytes=500, rates=platform_rates),
    )
    assert result.ok and len(server.delivered(url)) > 2


async def test_an_address_not_allowed_is_permanent(kind: str, start_server: ServerFactory) -> None:
    server = start_server(kind)
    url = server.add_robot(allowed_ips=("203.0.113.9",))
    result = await deliver(group(kind, url), ALERTS)
    assert not result.ok and result.permanent


async def test_a_removed_robot_is_permanent(kind: str, start_server: ServerFactory) -> None:
    server = start_server(kind)
    url = server.add_robot()
    gone = url.replace("key=", "key=0").replace("access_token=", "access_token=0")
    gone = gone + "0" if kind == "feishu" else gone
    result = await deliver(group(kind, gone), ALERTS)
    assert not result.ok and result.permanent
    assert {"wecom": "93000", "dingtalk": "300001", "feishu": "19001"}[kind] in (result.error or "")


async def test_a_robot_that_is_down_is_retried(kind: str, start_server: ServerFactory) -> None:
    server = start_server(kind)
    robot = signed_robot(server, kind)
    server.set_down(robot.url, 502)
    result = await deliver(robot, ALERTS)
    assert not result.ok and not result.permanent and "502" in (result.error or "")
    server.set_down(robot.url, None)
    assert (await deliver(robot, ALERTS)).ok


async def test_a_platform_that_cannot_be_reached_is_retried(kind: str) -> None:
    url = {
        "wecom": f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key=abc",
        "dingtalk": f"http://127.0.0.1:{free_port()}/robot/send?access_token=abc",
        "feishu": f"http://127.0.0.1:{free_port()}/open-apis/bot/v2/hook/abc",
    }[kind]
    result = await deliver(group(kind, url, SECRET), ALERTS)
    assert not result.ok and not result.permanent
    assert "abc" not in (result.error or "")  # the robot's credential stays out of errors


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/robot/send?access_token=abc", "http:///send?key=abc"])
async def test_an_address_that_is_not_a_webhook_is_permanent(url: str) -> None:
    result = await deliver(group("dingtalk", url, SECRET), ALERTS)
    assert not result.ok and result.permanent and "invalid webhook address" in (result.error or "")
    assert "abc" not in (result.error or "")


async def test_a_platform_that_does_not_answer_in_time_is_retried(
    kind: str, start_server: ServerFactory
) -> None:
    server = start_server(kind)
    robot = signed_robot(server, kind)
    server.set_delay(robot.url, 0.3)
    result = await deliver(robot, ALERTS, timeout_s=0.05)
    assert not result.ok and not result.permanent and "no answer" in (result.error or "")


async def test_no_texts_sends_nothing(kind: str, start_server: ServerFactory) -> None:
    server = start_server(kind)
    robot = signed_robot(server, kind)
    assert (await deliver(robot, [])).ok
    assert server.received() == []


def test_each_platform_names_its_throttle_code() -> None:
    assert {"wecom": wecom.THROTTLED, "dingtalk": dingtalk.THROTTLED, "feishu": feishu.THROTTLED} == THROTTLED
