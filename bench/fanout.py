"""Fan-out benchmark: reminders to 5,000 bound chats through a loopback Bot API that enforces a rate.

The server answers 429 with retry_after beyond its limit, as Telegram does. Telegram's own limit is 30
messages a second; the server's limit is scaled up (and the sender's with it) so that the run is short.
Prints the achieved rate as a fraction of the limit, the 429s and the duplicates.

    .venv/bin/python -m bench.fanout [--chats N] [--limit PER_SECOND] [--postgres URL]

The server runs in a child process: in the sender's process it would compete for the same interpreter.
The default limit, 150/s, stays below what one sender process reaches when CPU-bound (about 185/s on a
two-core machine, most of it spent in python-telegram-bot and httpx), so the fraction measures pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bench.botapi_process import bot_api
from bench.botapi_process import sent as sent_messages
from bot.sender.loop import Sender, SenderConfig
from bot.sender.telegram import SAFETY_MARGIN, TelegramChannel, rate_limiter
from storage import outbox
from storage.engine import make_engine, normalise_url, session_scope
from storage.migrate import upgrade
from storage.outbox import NewItem

BODY = (
    "<b>【履约提醒】青岛恒信电力有限公司</b>（913703082HD1TJ3Y9U）\n"
    "请在注销截止前注销经确认的 CCER，截止时间 2021年12月15日 17:00。\n"
    "尚需注销 CCER：428,000 吨（已确认 642,000 吨，已注销 214,000 吨）。\n"
    "下一步：在自愿减排注册登记系统中注销经确认的 CCER。"
)


@dataclass(frozen=True)
class Result:
    chats: int
    limit: float
    delivered: int
    duplicates: int
    rate_limited: int
    achieved: float
    seconds: float


async def fan_out(url: str, api: tuple[str, str, str], chats: int, limit: float) -> float:
    engine = make_engine(url)
    upgrade(engine)
    items = [
        NewItem(
            f"emitter|telegram:{c}|cancel_ccer|bench|{c}", "emitter", "telegram", str(c), "cancel_ccer", BODY
        )
        for c in range(10_000, 10_000 + chats)
    ]
    with session_scope(engine) as session:
        outbox.enqueue(session, items, _utc())
    base_url, base_file_url, token = api
    request = HTTPXRequest(connection_pool_size=256, read_timeout=10.0, pool_timeout=30.0)
    bot = ExtBot(
        token,
        base_url=base_url,
        base_file_url=base_file_url,
        request=request,
        rate_limiter=rate_limiter(limit * SAFETY_MARGIN),
    )
    async with bot:
        config = SenderConfig(batch=int(limit), in_flight=int(2 * limit))
        sender = Sender(engine, {"telegram": TelegramChannel(bot)}, config=config)
        start = time.perf_counter()
        states = await sender.run_until_settled([i.key for i in items])
        seconds = time.perf_counter() - start
    engine.dispose()
    assert set(states.values()) == {"sent"}, Counter(states.values())
    return seconds


def run(chats: int, limit: float, url: str) -> Result:
    with bot_api(limit) as (api, conn):
        seconds = asyncio.run(fan_out(url, api, chats, limit))
        sent, rate_limited = sent_messages(conn)
    per_chat = Counter(chat for chat, _ in sent)
    stamps = sorted(at for _, at in sent)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    achieved = (len(stamps) - 1) / span
    return Result(
        chats, limit, len(per_chat), sum(n - 1 for n in per_chat.values()), rate_limited, achieved, seconds
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument(
        "--limit", type=float, default=150.0, help="the server's messages a second (Telegram: 30)"
    )
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL instead of a fresh SQLite file")
    args = parser.parse_args()
    with _database(args.postgres) as url:
        result = run(args.chats, args.limit, url)
    print(
        f"fan-out to {result.chats} chats, server limit {result.limit:g}/s, sender set to "
        f"{result.limit * SAFETY_MARGIN:g}/s, database {'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    print(f"  delivered {result.delivered} in {result.seconds:.1f} s")
    print(f"  achieved {result.achieved:.1f}/s = {result.achieved / result.limit:.3f} of the limit")
    print(f"  429 answers: {result.rate_limited}")
    print(f"  duplicates: {result.duplicates}")


def _utc() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _database(postgres: str | None) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema on the PostgreSQL given (dropped afterwards)."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'fanout.db'}"
        return
    base = normalise_url(postgres)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
