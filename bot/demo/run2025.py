"""`ccerbot demo --cycle 2025`: a generated 2025 season in four sectors, taken in up to a chosen day, and
what each person would be told that morning."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time
from pathlib import Path

from bot.context import AppContext, UsageError
from bot.demo.run import show_instant, take_in
from bot.demo.season2025 import PROVINCES, REGISTRY, season
from bot.demo.story import TZ

DEFAULT_DAY = date(2026, 12, 4)
DEFAULT_UNITS = 40


def prepare(ctx: AppContext, folder: Path) -> AppContext:
    """A fresh database beside the mailbox, trusting the season's provinces and the registry, in 2025."""
    database = folder / "demo-2025.db"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (database, database.with_suffix(".db-wal"), database.with_suffix(".db-shm")):
        path.unlink(missing_ok=True)
    settings = ctx.settings.model_copy(update={"database_url": f"sqlite:///{database}", "cycle": "2025"})
    settings.senders.provinces = {province: [officer] for province, (_, officer) in PROVINCES.items()}
    settings.senders.registry = [REGISTRY]
    return AppContext(settings)


def _day(text: str | None) -> date:
    if not text:
        return DEFAULT_DAY
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--until 需要日期，例如 2026-12-04，而不是 {text!r}") from None


def write_mailbox(folder: Path, units: int, until: date) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    paths = []
    for n, (_, mail) in enumerate(season(units, until), 1):
        path = folder / f"{n:03d}-{Path(mail.name).stem}.eml"
        path.write_bytes(mail.raw)
        paths.append(path)
    return paths


def run_demo_2025(ctx: AppContext, args: argparse.Namespace) -> int:
    until, folder = _day(args.until), Path(args.dir)
    demo = prepare(ctx, folder)
    mailbox = folder / "demo-2025-mail"
    paths = write_mailbox(mailbox, args.units or DEFAULT_UNITS, until)
    database = folder / "demo-2025.db"
    take_in(demo, paths, mailbox, database)
    morning = datetime.combine(until, time(9), tzinfo=TZ)
    show_instant(demo, morning)
    if not args.no_chat and sys.stdin.isatty():
        from bot.console import console_chat

        return console_chat(demo, now=morning)
    return 0
