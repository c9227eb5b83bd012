"""One throttled robot never holds up the others: its item goes back to the outbox with the platform's
retry time, the other robots' items are sent at once, and `run_until_settled` does not wait it out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.sender.groups import group_channels
from bot.sender.loop import Sender
from storage import outbox
from storage.engine import session_scope
from tests.groups.helpers import ServerFactory, signed_robot

NOW = datetime(2021, 12, 15, 1, 0, tzinfo=UTC)
GUARD_S = 60.0  # far below the platform's throttle: a sender that waited it out fails the test


def _enqueue(engine: Engine, names: list[str], kind: str) -> list[str]:
    items = [
        outbox.NewItem(f"officer|{kind}:{name}|alert|2019-2020|{name}", "officer", kind, name, "alert", name)
        for name in names
    ]
    with session_scope(engine) as session:
        outbox.enqueue(session, items, NOW)
    return [item.key for item in items]


@pytest.mark.parametrize(
    ("kind", "code", "throttle_s"), [("wecom", 45009, 60.0), ("dingtalk", 130101, 600.0)]
)
def test_a_throttled_robot_gives_its_item_back_and_the_other_is_sent_at_once(
    sqlite_engine: Engine, start_server: ServerFactory, kind: str, code: int, throttle_s: float
) -> None:
    server = start_server(kind)
    busy, free = signed_robot(server, kind), signed_robot(server, kind)
    busy.name, free.name = "busy", "free"
    server.throttle(busy.url, throttle_s)
    settings = Settings(groups=[busy, free])
    keys = _enqueue(sqlite_engine, ["busy", "free"], kind)

    async def run() -> tuple[dict[str, str], Sender]:
        async with aiohttp.ClientSession() as http:
            sender = Sender(sqlite_engine, group_channels(settings, http))
            states = await asyncio.wait_for(sender.run_until_settled(keys), GUARD_S)
            return states, sender

    states, sender = asyncio.run(run())

    assert states == {keys[0]: "pending", keys[1]: "sent"}
    [digest] = server.delivered(free.url)
    assert digest.endswith("free")
    assert server.codes(busy.url) == [code]  # asked once, then left alone
    assert sender.deferred == {keys[0]}
    [item] = [i for i in outbox.items(sqlite_engine) if i.key == keys[0]]
    assert item.next_attempt_at.replace(tzinfo=UTC) >= NOW  # retried after the platform's throttle
    assert item.last_error and str(code) in item.last_error
