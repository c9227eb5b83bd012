"""The group robots (WeCom, DingTalk, Feishu) as channels of the outbox sender.

The sender hands over one item at a time; items for one robot that were claimed together are held for a
moment and go out as one digest (split only where the platform's size limit demands). The digest's
result is shared out: the texts that reached the group are sent, the rest retry or fail as one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp

from bot.config import Settings
from bot.groups.client import DeliveryResult, deliver
from bot.groups.limits import RobotLimiter
from bot.groups.routing import group_for
from bot.sender.policy import PermanentError, RateLimited, TemporaryError
from storage.models import OutboxItem

GATHER_S = 0.2  # items claimed together arrive within this window


@dataclass
class _Batch:
    items: list[OutboxItem] = field(default_factory=list)
    result: asyncio.Future[DeliveryResult] | None = None


class GroupChannel:
    """One platform's robots; the limiter and HTTP session are shared by every robot of every platform."""

    def __init__(
        self, name: str, settings: Settings, http: aiohttp.ClientSession, limiter: RobotLimiter
    ) -> None:
        self.name, self.settings, self.http, self.limiter = name, settings, http, limiter
        self._batches: dict[str, _Batch] = {}

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        group = group_for(self.settings, item.recipient)
        if group is None:
            raise PermanentError(f"group {item.recipient} is no longer configured")
        batch = self._batches.get(item.recipient)
        if batch is None:
            batch = self._batches[item.recipient] = _Batch(result=asyncio.get_running_loop().create_future())
            asyncio.get_running_loop().create_task(self._flush(item.recipient))
        position = len(batch.items)
        batch.items.append(item)
        assert batch.result is not None
        _raise_unless_delivered(await asyncio.shield(batch.result), position)

    async def _flush(self, recipient: str) -> None:
        await asyncio.sleep(GATHER_S)
        batch = self._batches.pop(recipient)
        assert batch.result is not None
        group = group_for(self.settings, recipient)
        try:
            assert group is not None
            texts = [item.body for item in batch.items]
            result = await deliver(
                group, texts, session=self.http, limiter=self.limiter, lang=self.settings.lang
            )
        except Exception as error:  # the items must hear of it, whatever went wrong
            result = DeliveryResult(False, error=f"{type(error).__name__}: {error}")
        batch.result.set_result(result)


def _raise_unless_delivered(result: DeliveryResult, position: int) -> None:
    if position < result.delivered:
        return
    error = result.error or "not delivered"
    if result.permanent:
        raise PermanentError(error)
    if result.retry_after is not None:
        raise RateLimited(error, retry_after=result.retry_after)
    raise TemporaryError(error)


def group_channels(settings: Settings, http: aiohttp.ClientSession) -> dict[str, GroupChannel]:
    """A channel for each platform that has a configured robot."""
    limiter = RobotLimiter()
    return {
        kind: GroupChannel(kind, settings, http, limiter)
        for kind in sorted({g.kind for g in settings.groups})
    }
