"""`ccerbot groups test`: a test message to every configured group robot, and what became of each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from bot.config import GroupConfig, Settings
from bot.groups.client import deliver, label
from bot.groups.limits import RobotLimiter
from bot.net import http_session
from templates import render


@dataclass(frozen=True)
class GroupResult:
    name: str  # the group's name, or its platform and host
    kind: str
    province: str
    ok: bool
    permanent: bool = False
    retry_after: float | None = None
    error: str | None = None


async def try_groups(
    settings: Settings,
    *,
    session: aiohttp.ClientSession | None = None,
    limiter: RobotLimiter | None = None,
) -> list[GroupResult]:
    """Send the test message to every group at once (each robot within its own limit); one result each."""
    if session is None:  # through the configured proxy
        async with http_session(settings) as own:
            return await try_groups(settings, session=own, limiter=limiter)
    limiter = limiter or RobotLimiter()
    now = datetime.now(settings.tz)
    tasks = [_try_one(group, settings.lang, now, session, limiter) for group in settings.groups]
    return list(await asyncio.gather(*tasks))


def format_results(results: Sequence[GroupResult], lang: str = "zh") -> str:
    return render("group_test_result", lang, results=results)


def all_ok(results: Sequence[GroupResult]) -> bool:
    return all(result.ok for result in results)


async def _try_one(
    group: GroupConfig,
    lang: str,
    now: datetime,
    session: aiohttp.ClientSession | None,
    limiter: RobotLimiter,
) -> GroupResult:
    text = render("group_test", lang, kind=group.kind, name=label(group), province=group.province, now=now)
    result = await deliver(group, [text], session=session, limiter=limiter, lang=lang)
    name, ok, error = label(group), result.ok, result.error
    return GroupResult(name, group.kind, group.province, ok, result.permanent, result.retry_after, error)
