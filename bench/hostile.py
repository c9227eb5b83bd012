"""Chat answers while hostile mail is read: the status p99 with and without a stream of heavy messages.

The bot answers /status from 200 people at once (as bench.chat_status), first with intake idle, then
while intake takes, one after another, messages built to cost as much as the size caps allow: an HTML
table of 200,000 cells, a spreadsheet of 60,000 rows, a 24 KB subject, an address of 20,000 '@'s.
Intake reads them as `ccerbot run` does, in its worker process; for comparison, also in the service's
own process. Prints p50/p99 of each and the ratios to the idle run (aim: p99 with hostile mail in the
worker <= 1.5x idle).

    .venv/bin/python -m bench.hostile [--units 2000] [--users 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr

from bench.chat_status import NOW, bind_users, measure, populate, report
from bot.config import Settings, TelegramConfig
from bot.context import AppContext
from bot.telegram.app import build_application
from mail.intake import IntakeConfig, take
from mail.sandbox import Sandbox
from tests.intake.world import CONFIG
from tests.mail.corpus import XLSX_TYPE, build_message, html_table, xlsx_bytes
from tests.servers.botapi import BotApiServer

ATTACKER = "ccer@sthj.shandong.example.evil.example"  # looks like 山东省's address; is not
HEADER = ["序号", "省份", "重点排放单位名称", "统一社会信用代码", "2019-2020年度应清缴配额量（吨）"]


def hostile_messages() -> list[bytes]:
    """From a stranger, heavy to read, each under every size cap (read to the end, then refused)."""
    cells = [HEADER] + [[n, "山东省", f"单位{n}", "x" * 10, n] for n in range(40_000)]  # 200,000 cells
    sheet = xlsx_bytes([HEADER] + [[n, "山东省", f"单位{n}", "y" * 18, n] for n in range(60_000)])
    when = datetime(2021, 11, 5, 9, tzinfo=NOW.tzinfo)
    return [
        build_message(
            sender=ATTACKER, to="bot@example.cn", subject="名录", date=when, html_body=html_table(cells)
        ),
        build_message(
            sender=ATTACKER,
            to="bot@example.cn",
            subject="名录",
            date=when,
            attachments=[("名录.xlsx", sheet, XLSX_TYPE)],
        ),
        build_message(sender=ATTACKER, to="bot@example.cn", subject="抵销申请" * 3_000, date=when),
        build_message(sender="@" * 20_000, to="bot@example.cn", subject="名录", date=when),
    ]


def stream(messages: list[bytes]) -> Iterator[bytes]:
    """The messages again and again, each time a new message: new bytes and a new Message-ID (a repeat of
    either is a duplicate, never read again)."""
    for n in itertools.count():
        for raw in messages:
            yield raw.replace(b"Message-ID: <", f"Message-ID: <{n}.".encode(), 1)


def intake_thread(
    ctx: AppContext, config: IntakeConfig, messages: list[bytes], stop: threading.Event
) -> Callable[[], int]:
    """Take hostile mail until stopped, in a thread as the service does; returns how many were taken."""
    taken = [0]

    def work() -> None:
        for raw in stream(messages):
            if stop.is_set():
                return
            take(ctx.engine, raw, "hostile.eml", config, datetime.now(NOW.tzinfo))
            taken[0] += 1

    thread = threading.Thread(target=work, daemon=True)
    thread.start()

    def finish() -> int:
        stop.set()
        thread.join()
        return taken[0]

    return finish


async def run(units: int, users: int, rounds: int, folder: Path) -> int:
    with BotApiServer() as server:
        telegram = TelegramConfig(
            base_url=server.base_url, base_file_url=server.base_file_url, token=SecretStr(server.token)
        )
        settings = Settings(
            cycle="2019-2020", database_url=f"sqlite:///{folder / 'bench.db'}", telegram=telegram
        )
        ctx = AppContext(settings)
        chats = bind_users(ctx.engine, populate(ctx.engine, units), users)
        status_bot = build_application(ctx, clock=lambda: NOW, rate_limit=False)
        sandbox = Sandbox(memory_bytes=settings.read_memory_mb * 1024 * 1024, wall_s=settings.read_timeout_s)
        sandbox.warm()
        hostile = hostile_messages()  # built before any round: building them is not intake's work
        modes = {
            "idle": None,
            "worker": replace(CONFIG, sandbox=sandbox),
            "in-place": replace(CONFIG, sandbox=None),
        }
        samples: dict[str, list[float]] = {mode: [] for mode in modes}
        taken: dict[str, int] = dict.fromkeys(modes, 0)
        print(f"{units} units, {users} users, {rounds} rounds per mode, modes alternated")
        for _ in range(rounds):
            for mode, config in modes.items():
                finish = (
                    intake_thread(ctx, config, hostile, threading.Event()) if config is not None else None
                )
                if finish is not None:
                    time.sleep(1.0)  # let the first heavy message get under way
                samples[mode] += await measure(status_bot, server, chats, "/status")
                taken[mode] += finish() if finish is not None else 0
        sandbox.close()
    idle_p50, idle_p99 = report("idle", samples["idle"])
    for mode in ("worker", "in-place"):
        p50, p99 = report(mode, samples[mode])
        print(
            f"  {mode}: {taken[mode]} hostile messages taken; "
            f"p50 {p50 / idle_p50:.2f}x, p99 {p99 / idle_p99:.2f}x"
        )
    print("aim: p99 with hostile mail read in the worker <= 1.5x idle")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(args.units, args.users, args.rounds, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
