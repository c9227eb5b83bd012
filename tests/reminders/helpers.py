"""What the reminder and sender tests share: settings, outbox items, bots and senders on loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.sender.loop import Channel, Sender, SenderConfig
from bot.sender.policy import BackOff
from bot.sender.telegram import TelegramChannel, rate_limiter
from storage import outbox
from storage.engine import session_scope
from storage.outbox import NewItem
from tests import shared
from tests.servers.botapi import BotApiServer
from tests.servers.smtp import SmtpServer

# A guard against a hung test, not a measurement.
GUARD_S = 30.0
FAST = SenderConfig(
    batch=20, in_flight=20, idle_poll_s=0.02, drain_s=2.0, backoff=BackOff(0.01, 2.0, 0.05, 0.0)
)


def samples_dir() -> Path | None:
    """The shared sample corpus beside the repository (as CI lays it), or None."""
    return shared.SAMPLES if (shared.SAMPLES / "expected.json").exists() else None


def utc_now() -> datetime:
    return datetime.now(UTC)


def settings(
    database_url: str = "sqlite://",
    botapi: BotApiServer | None = None,
    smtp: SmtpServer | None = None,
    **values: Any,
) -> Settings:
    data: dict[str, Any] = {"database_url": database_url, **values}
    if botapi is not None:
        data["telegram"] = {
            "base_url": botapi.base_url,
            "base_file_url": botapi.base_file_url,
            "token": botapi.token,
        }
    if smtp is not None:
        data["smtp"] = {
            "host": smtp.host,
            "port": smtp.port,
            "security": "none",
            "sender": "ccerbot@example.cn",
        }
    data.setdefault("cycle", "2019-2020")
    return Settings(**data)


def item(
    key: str,
    recipient: str,
    body: str = "提醒",
    channel: str = "telegram",
    kind: str = "cancel_ccer",
    **extra: Any,
) -> NewItem:
    return NewItem(
        key=key,
        audience=extra.pop("audience", "emitter"),
        channel=channel,
        recipient=recipient,
        kind=kind,
        body=body,
        subject=extra.pop("subject", ""),
    )


def enqueue(engine: Engine, items: Sequence[NewItem]) -> int:
    with session_scope(engine) as session:
        return outbox.enqueue(session, items, utc_now())


def states(engine: Engine) -> dict[str, str]:
    return {i.key: i.state for i in outbox.items(engine)}


def bot_for(
    server: BotApiServer, read_timeout: float = 5.0, retries: int = 3, per_second: float = 1000.0
) -> ExtBot[int]:
    return ExtBot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=read_timeout),
        rate_limiter=rate_limiter(per_second, retries),
    )


def telegram_channel(bot: ExtBot[int], per_chat_interval: float = 0.0) -> TelegramChannel:
    return TelegramChannel(bot, per_chat_interval=per_chat_interval)


async def settle(sender: Sender, keys: Sequence[str]) -> dict[str, str]:
    return await asyncio.wait_for(sender.run_until_settled(keys), GUARD_S)


def sender(engine: Engine, channels: dict[str, Channel], **kwargs: Any) -> Sender:
    kwargs.setdefault("config", FAST)
    return Sender(engine, channels, **kwargs)


async def wait_until(condition: Callable[[], object], what: str, guard_s: float = GUARD_S) -> None:
    """Polls `condition` until it holds; a guard against a test that hangs, not a measurement."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), guard_s)
    except TimeoutError:
        raise AssertionError(f"not reached: {what}") from None
