"""The sender against a loopback Bot API: every item once, and it survives 429, 5xx, timeouts and refusals."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.sender.loop import Sender, utc_now
from storage import outbox
from storage.models import OutboxItem
from tests.reminders.helpers import bot_for, enqueue, item, sender, settle, states, telegram_channel
from tests.servers.botapi import BotApiServer


def chats(n: int, start: int = 1000) -> list[int]:
    return list(range(start, start + n))


async def test_every_item_is_sent_once_as_html_and_marked_sent(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    enqueue(sqlite_engine, [item(f"k{c}", str(c), f"<b>提醒</b> {c}") for c in chats(30)])
    async with bot_for(botapi) as bot:
        result = await settle(
            sender(sqlite_engine, {"telegram": telegram_channel(bot)}), list(states(sqlite_engine))
        )
    assert set(result.values()) == {"sent"}
    sent = [c for c in botapi.sent if c.method == "sendMessage"]
    assert sorted(c.chat_id for c in sent) == chats(30)  # type: ignore[type-var]
    assert {c.parse_mode for c in sent} == {"HTML"}
    assert botapi.sent_texts(1005) == ["<b>提醒</b> 1005"]


async def test_flood_control_is_waited_out_in_place_by_the_rate_limiter(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    enqueue(sqlite_engine, [item("k", "42")])
    botapi.fail_next("sendMessage", status=429, retry_after=1)
    async with bot_for(botapi, retries=3) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)})
        assert await settle(run, ["k"]) == {"k": "sent"}
    assert [c.status for c in botapi.calls if c.method == "sendMessage"] == [429, 200]
    assert run.tally.retried == 0


async def test_flood_control_beyond_the_limiters_retries_goes_back_to_the_outbox(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    enqueue(sqlite_engine, [item("k", "42")])
    botapi.fail_next("sendMessage", status=429, retry_after=1)
    async with bot_for(botapi, retries=0) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)})
        assert await settle(run, ["k"]) == {"k": "sent"}
    assert [c.status for c in botapi.calls if c.method == "sendMessage"] == [429, 200]
    assert (run.tally.rate_limited, run.tally.retried, run.tally.sent) == (1, 1, 1)
    assert botapi.sent_texts(42) == ["提醒"]


async def test_server_errors_are_retried_with_back_off(sqlite_engine: Engine, botapi: BotApiServer) -> None:
    enqueue(sqlite_engine, [item("k", "42")])
    botapi.fail_next("sendMessage", status=500, times=2)
    botapi.fail_next("sendMessage", status=502)
    async with bot_for(botapi) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)})
        assert await settle(run, ["k"]) == {"k": "sent"}
    assert [c.status for c in botapi.calls if c.method == "sendMessage"] == [500, 500, 502, 200]
    assert [i.attempts for i in outbox.items(sqlite_engine)] == [4]
    assert botapi.sent_texts(42) == ["提醒"]


async def test_a_timeout_is_retried_and_may_deliver_twice_as_documented(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    # The server takes the message but answers too late: the sender cannot know, and sends again.
    enqueue(sqlite_engine, [item("k", "42")])
    botapi.delay_next("sendMessage", 1.0)
    async with bot_for(botapi, read_timeout=0.2) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)})
        assert await settle(run, ["k"]) == {"k": "sent"}
    assert run.tally.retried == 1
    assert botapi.sent_texts(42) == ["提醒", "提醒"]


async def test_a_blocked_bot_fails_at_once_and_is_reported(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    reported: list[tuple[str, str]] = []

    async def report(failed: OutboxItem, reason: str) -> None:
        reported.append((failed.key, reason))

    enqueue(sqlite_engine, [item("k", "42")])
    botapi.fail_next("sendMessage", status=403)
    async with bot_for(botapi) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)}, on_failure=report)
        assert await settle(run, ["k"]) == {"k": "failed"}
    assert [i.attempts for i in outbox.items(sqlite_engine)] == [1]
    assert len(reported) == 1 and reported[0][0] == "k"
    assert reported[0][1].startswith("RecipientBlocked")


async def test_a_request_telegram_refuses_is_not_retried(sqlite_engine: Engine, botapi: BotApiServer) -> None:
    enqueue(sqlite_engine, [item("k", "42")])
    botapi.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    async with bot_for(botapi) as bot:
        assert await settle(sender(sqlite_engine, {"telegram": telegram_channel(bot)}), ["k"]) == {
            "k": "failed"
        }
    assert len([c for c in botapi.calls if c.method == "sendMessage"]) == 1


async def test_formatting_telegram_cannot_parse_is_resent_as_plain_text(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    enqueue(sqlite_engine, [item("k", "42", "<b>提醒</b> <i>未闭合 A&amp;B")])
    async with bot_for(botapi) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)})
        assert await settle(run, ["k"]) == {"k": "sent"}
    sent = [c for c in botapi.sent if c.method == "sendMessage"]
    assert [(c.text, c.parse_mode) for c in sent] == [("提醒 未闭合 A&B", None)]
    assert run.tally.as_plain_text == 1


async def test_an_item_that_keeps_failing_fails_after_the_last_attempt_and_is_reported(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    reported: list[str] = []

    async def report(failed: OutboxItem, reason: str) -> None:
        reported.append(failed.key)

    enqueue(sqlite_engine, [item("k", "42")])
    botapi.fail_next("sendMessage", status=500, times=outbox.MAX_ATTEMPTS)

    def hours_later() -> datetime:  # the item has been failing for longer than the outbox keeps trying
        return utc_now() + outbox.KEEP_TRYING

    async with bot_for(botapi) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot)}, on_failure=report, clock=hours_later)
        assert await settle(run, ["k"]) == {"k": "failed"}
    assert [i.attempts for i in outbox.items(sqlite_engine)] == [outbox.MAX_ATTEMPTS]
    assert reported == ["k"]
    assert botapi.sent_texts(42) == []


async def test_a_running_sender_stops_when_told_and_sends_what_was_written_meanwhile(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    stop = asyncio.Event()
    async with bot_for(botapi) as bot:
        run: Sender = sender(sqlite_engine, {"telegram": telegram_channel(bot)})
        task = asyncio.create_task(run.run(stop))
        enqueue(sqlite_engine, [item("late", "7")])
        run.wake()
        await botapi.wait_sent(1, method="sendMessage")
        stop.set()
        await asyncio.wait_for(task, 10)
    assert states(sqlite_engine) == {"late": "sent"}


async def test_messages_to_one_chat_go_one_after_the_other_in_order(
    sqlite_engine: Engine, botapi: BotApiServer
) -> None:
    enqueue(sqlite_engine, [item(f"k{n}", "42", f"第 {n} 条") for n in range(3)])
    async with bot_for(botapi) as bot:
        run = sender(sqlite_engine, {"telegram": telegram_channel(bot, per_chat_interval=0.05)})
        assert set((await settle(run, ["k0", "k1", "k2"])).values()) == {"sent"}
    assert botapi.sent_texts(42) == ["第 0 条", "第 1 条", "第 2 条"]
