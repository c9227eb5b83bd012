"""Status answers under load: 200 people ask at once, 5,000 units in the database.

Everything runs on loopback: the Bot API server of the test suite, the bot as `ccerbot run` builds it
(without the flood-control limiter: this measures the bot, not Telegram's limits), and an echo bot on
the very same harness. Round trip = from the moment a message is queued at the server to the moment the
server receives the reply. Prints p50/p99 for both and the ratio to the echo floor.

    .venv/bin/python -m bench.chat_status [--units 5000] [--users 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import select
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.config import Settings, TelegramConfig
from bot.context import AppContext
from bot.telegram.app import application_builder, build_application
from bot.telegram.polling import run_polling_until
from compliance.creditcode import make_code
from storage import access
from storage.engine import session_scope
from storage.models import (
    ApplicationLine,
    CancellationRecord,
    InboundMessage,
    RosterEntry,
    Unit,
    WeeklySnapshot,
)
from tests.servers.botapi import BotApiServer

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 12, 9, 9, tzinfo=TZ)
ROSTER_AT = datetime(2021, 11, 1, 10, tzinfo=TZ)
WEEKLY_AT = datetime(2021, 12, 3, 17, tzinfo=TZ)
PROVINCES = (
    "北京市",
    "天津市",
    "河北省",
    "山西省",
    "内蒙古自治区",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "上海市",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "广西壮族自治区",
    "海南省",
    "重庆市",
    "四川省",
    "贵州省",
    "云南省",
    "西藏自治区",
    "陕西省",
    "甘肃省",
    "青海省",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
)
FIRST_CHAT = 700_000
WARM_UP = 20


def unit_code(n: int) -> str:
    return make_code(f"9100000000{n:07d}")


def populate(engine: Engine, units: int, seed: int = 7) -> list[str]:
    """A cycle's worth of facts for `units` units spread over the provinces; returns their codes."""
    rng = random.Random(seed)
    codes = [unit_code(n) for n in range(units)]
    with session_scope(engine) as session:
        messages = {}
        for i, province in enumerate(PROVINCES):
            for kind, at in (("roster", ROSTER_AT), ("weekly_summary", WEEKLY_AT)):
                raw = f"{kind}|{province}".encode()
                row = InboundMessage(
                    content_hash=f"{i:04d}{kind}".ljust(64, "0"),
                    raw=raw,
                    source="bench",
                    received_at=at,
                    kind=kind,
                    province=province,
                    state="done",
                )
                session.add(row)
                session.flush()
                messages[(kind, province)] = row.id
        session.execute(
            insert(Unit),
            [
                {
                    "code": c,
                    "province": PROVINCES[n % len(PROVINCES)],
                    "name": f"重点排放单位{n:05d}",
                    "contact_email": f"unit{n}@example.cn",
                    "created_at": ROSTER_AT,
                }
                for n, c in enumerate(codes)
            ],
        )
        ids = {u.code: u.id for u in session.exec(select(Unit))}
        session.execute(
            insert(RosterEntry),
            [
                {
                    "message_pk": messages[("roster", PROVINCES[n % len(PROVINCES)])],
                    "unit_id": ids[c],
                    "known_at": ROSTER_AT,
                    "province": PROVINCES[n % len(PROVINCES)],
                    "name": f"重点排放单位{n:05d}",
                    "allowances_due_t": rng.randint(50_000, 5_000_000),
                    "complied": rng.random() < 0.2,
                    "contact_email": f"unit{n}@example.cn",
                }
                for n, c in enumerate(codes)
            ],
        )
        snapshots = {}
        for province in PROVINCES:
            snapshot = WeeklySnapshot(
                message_pk=messages[("weekly_summary", province)],
                province=province,
                as_of=WEEKLY_AT.date(),
                known_at=WEEKLY_AT,
            )
            session.add(snapshot)
            session.flush()
            snapshots[province] = snapshot.id
        lines, cancellations = [], []
        for n, c in enumerate(codes):
            if rng.random() < 0.3:
                continue
            province = PROVINCES[n % len(PROVINCES)]
            requested = rng.randint(1_000, 100_000)
            result = rng.choice(["pending", "confirmed", "confirmed", "rejected"])
            lines.append(
                {
                    "snapshot_id": snapshots[province],
                    "unit_id": ids[c],
                    "row": n,
                    "code": c,
                    "name": f"重点排放单位{n:05d}",
                    "name_key": f"重点排放单位{n:05d}",
                    "project_no": "CCER-001-0001",
                    "vintage_start": date(2014, 1, 1),
                    "vintage_end": date(2016, 10, 31),
                    "requested_t": requested,
                    "result": result,
                }
            )
            if result == "confirmed" and rng.random() < 0.6:
                cancellations.append(
                    {
                        "natural_key": f"bench|{n}",
                        "message_pk": messages[("weekly_summary", province)],
                        "known_at": WEEKLY_AT,
                        "province": province,
                        "unit_id": ids[c],
                        "row": n,
                        "holder_name": f"重点排放单位{n:05d}",
                        "name_key": f"重点排放单位{n:05d}",
                        "quantity_t": rng.randint(1, requested),
                        "cancelled_at": WEEKLY_AT,
                    }
                )
        session.execute(insert(ApplicationLine), lines)
        session.execute(insert(CancellationRecord), cancellations)
    return codes


def bind_users(engine: Engine, codes: list[str], users: int) -> list[int]:
    step = max(1, len(codes) // users)
    chats = [FIRST_CHAT + i for i in range(users)]
    with session_scope(engine) as session:
        for i, chat_id in enumerate(chats):
            access.bind(session, chat_id, "emitter", NOW, unit_code=codes[(i * step) % len(codes)])
    return chats


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


def echo_application(ctx: AppContext) -> Application:  # type: ignore[type-arg]
    application = application_builder(ctx, rate_limit=False).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    return application


async def one_round(server: BotApiServer, chats: list[int], text: str) -> list[float]:
    """Everyone asks at once; the round trip of each, in seconds."""
    already = len(server.sent)
    asked = {}
    for chat_id in chats:
        asked[chat_id] = time.time()
        server.push_message(chat_id, text)
    replies = (await server.wait_sent(already + len(chats), timeout=120, method="sendMessage"))[already:]
    return [call.received_at - asked[int(call.chat_id or 0)] for call in replies]


async def measure(application: Application, server: BotApiServer, chats: list[int], text: str) -> list[float]:  # type: ignore[type-arg]
    """One round with the application polling: a warm-up by a few, then everyone at once."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling_until(application, stop))
    while not application.running:
        await asyncio.sleep(0.01)
    await one_round(server, chats[:WARM_UP], text)  # connections, caches, the first queries
    server.clear()
    samples = await one_round(server, chats, text)
    stop.set()
    await task
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, samples: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
    print(
        f"{name:<8} n={len(samples):<5} p50={p50 * 1000:8.1f} ms  p99={p99 * 1000:8.1f} ms  "
        f"mean={statistics.fmean(samples) * 1000:8.1f} ms"
    )
    return p50, p99


async def run(units: int, users: int, rounds: int, folder: Path) -> int:
    with BotApiServer() as server:
        telegram = TelegramConfig(
            base_url=server.base_url, base_file_url=server.base_file_url, token=SecretStr(server.token)
        )
        ctx = AppContext(
            Settings(cycle="2019-2020", database_url=f"sqlite:///{folder / 'bench.db'}", telegram=telegram)
        )
        started = time.perf_counter()
        codes = populate(ctx.engine, units)
        chats = bind_users(ctx.engine, codes, users)
        print(
            f"{units} units, {users} users, {rounds} rounds each; database ready in "
            f"{time.perf_counter() - started:.1f} s"
        )
        clock: Callable[[], datetime] = lambda: NOW  # noqa: E731 - the instant of the story
        echo_bot, status_bot = echo_application(ctx), build_application(ctx, clock=clock, rate_limit=False)
        floor: list[float] = []
        status: list[float] = []
        for _ in range(rounds):  # alternated, so that both see the machine in the same state
            floor += await measure(echo_bot, server, chats, "/status")
            status += await measure(status_bot, server, chats, "/status")
        sample = server.sent_texts(chats[0])[-1]
    echo_p50, echo_p99 = report("echo", floor)
    status_p50, status_p99 = report("status", status)
    print(f"ratio    p50={status_p50 / echo_p50:.2f}x  p99={status_p99 / echo_p99:.2f}x  (aim: p99 <= 1.5x)")
    print("a status answer starts: " + sample.splitlines()[0])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_status", description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(args.units, args.users, args.rounds, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
