"""`reminders --send`: write what is due to the outbox, then send until those items are settled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bot.chats import platform_channels
from bot.config import Settings
from bot.context import AppContext
from bot.net import http_session, proxy_url
from bot.notices.failures import enqueue_delivery_failed
from bot.notices.keys import OutboxKey
from bot.notices.reminders import enqueue_due
from bot.sender.email import EmailChannel
from bot.sender.groups import group_channels
from bot.sender.loop import Channel, Sender
from bot.sender.telegram import TelegramChannel, build_bot
from storage.models import OutboxItem
from templates import render


def send_due(ctx: AppContext, at: datetime) -> tuple[dict[str, Any], str]:
    """Write what is due at `at` into the outbox and deliver it; a summary (JSON and text)."""
    return asyncio.run(_send_due(ctx, at))


async def _send_due(ctx: AppContext, at: datetime) -> tuple[dict[str, Any], str]:
    engine, settings, cycle = ctx.engine, ctx.settings, ctx.cycle
    enqueued = await asyncio.to_thread(enqueue_due, engine, settings, cycle, at, ctx.now())
    alerts: list[str] = []
    async with standalone_channels(settings) as channels:
        sender = Sender(engine, channels, on_failure=failure_reporter(ctx, alerts))
        states = await sender.run_until_settled(enqueued.keys)
        states.update(await sender.run_until_settled(alerts))
    due_states = {key: states.get(key, "pending") for key in enqueued.keys}
    summary = _summary(at, enqueued.keys, enqueued.new, due_states, set(channels), len(alerts))
    text = render("reminder_summary", settings.lang, **summary)
    return {**summary, "at": at.isoformat(), "items": due_states, "alerts": alerts}, text


def _summary(
    at: datetime, keys: list[str], new: int, states: dict[str, str], channels: set[str], alerts: int
) -> dict[str, Any]:
    by_channel: dict[str, int] = {}
    for key in keys:
        by_channel[_channel_of(key)] = by_channel.get(_channel_of(key), 0) + 1
    counted = {s: sum(1 for v in states.values() if v == s) for s in ("sent", "failed")}
    idle = sorted(c for c in by_channel if c not in channels)
    waiting = len(keys) - counted["sent"] - counted["failed"] - sum(by_channel[c] for c in idle)
    return {
        "at": at,
        "total": len(keys),
        "new": new,
        "states": counted,
        "waiting": waiting,
        "idle_channels": idle,
        "by_channel": by_channel,
        "alerts": alerts,
    }


def _channel_of(key: str) -> str:
    return OutboxKey.parse(key).channel


@asynccontextmanager
async def standalone_channels(settings: Settings) -> AsyncIterator[dict[str, Channel]]:
    """The channels `reminders --send` can use: a bot that only sends, and SMTP."""
    channels: dict[str, Channel] = {}
    if settings.smtp is not None:
        channels["email"] = EmailChannel(settings.smtp)
    async with http_session(settings) as http:
        groups = group_channels(settings, http) if settings.groups else {}
        channels.update(groups)
        channels.update(platform_channels(settings, http))
        if settings.telegram is None or settings.telegram.token is None:
            yield channels
            return
        bot = build_bot(settings.telegram, proxy=proxy_url(settings))
        async with bot:
            channels["telegram"] = TelegramChannel(bot)
            yield channels


def failure_reporter(ctx: AppContext, written: list[str]) -> Callable[[OutboxItem, str], Awaitable[None]]:
    async def report(item: OutboxItem, reason: str) -> None:
        keys = await asyncio.to_thread(
            enqueue_delivery_failed, ctx.engine, ctx.settings, ctx.cycle, item, reason, ctx.now()
        )
        written.extend(keys)

    return report
