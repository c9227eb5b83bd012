"""`ccerbot demo`: generate the story's mail, take it in, and show what each person would be told."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from bot.cmd_ingest import summary
from bot.context import AppContext
from bot.demo.step4 import show_step4
from bot.demo.story import TZ, build_mailbox, load_story
from bot.notices.reminders import reminders_at
from bot.reports import province_report
from mail.intake import take
from templates import render

INSTANTS = (
    datetime(2021, 11, 19, 9, tzinfo=TZ),
    datetime(2021, 12, 10, 9, tzinfo=TZ),  # the application window closes at 17:00
    datetime(2021, 12, 15, 9, tzinfo=TZ),  # CCER cancellation deadline and 95 % target at 17:00
    datetime(2021, 12, 16, 9, tzinfo=TZ),  # the morning after the cancellation deadline
    datetime(2021, 12, 31, 9, tzinfo=TZ),
)


def prepare(ctx: AppContext, folder: Path) -> AppContext:
    """A fresh demo database beside the mailbox, trusting the story's senders, in the first cycle."""
    database = folder / "demo.db"
    folder.mkdir(parents=True, exist_ok=True)  # the demo's own folder (./var by default) is made when missing
    for path in (database, database.with_suffix(".db-wal"), database.with_suffix(".db-shm")):
        path.unlink(missing_ok=True)
    story = load_story()
    settings = ctx.settings.model_copy(update={"database_url": f"sqlite:///{database}", "cycle": "2019-2020"})
    settings.senders.ncsc = list(story["senders"]["ncsc"])
    settings.senders.provinces = {p: list(a) for p, a in story["senders"]["provinces"].items()}
    settings.senders.provinces[story["step4"]["province"]] = [story["step4"]["sender"]]
    return AppContext(settings)


def run_demo(ctx: AppContext, args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    demo = prepare(ctx, folder)
    paths = build_mailbox(folder / "demo-mail")
    mailbox, database = folder / "demo-mail", folder / "demo.db"
    take_in(demo, paths, mailbox, database)
    show_step4(demo, load_story(), folder)
    for at in INSTANTS:
        show_instant(demo, at)
    if not args.no_chat and sys.stdin.isatty():
        from bot.console import console_chat

        return console_chat(demo, now=INSTANTS[1])  # the console answers as on 2021-12-10 09:00
    return 0


def take_in(demo: AppContext, paths: list[Path], mailbox: Path, database: Path) -> None:
    """Take in the demo mailbox, message by message, saying what became of each."""
    lang = demo.settings.lang
    print(render("cli", lang, part="demo_header", folder=mailbox, count=len(paths), database=database) + "\n")
    outcomes = []
    for path in paths:
        outcome = take(demo.engine, path.read_bytes(), str(path), demo.intake_config(), demo.now())
        outcomes.append(outcome)
        print("  " + render("cli", lang, part="demo_message", name=path.name, outcome=outcome))
    print("\n" + summary(outcomes, lang) + "\n")


def show_instant(ctx: AppContext, at: datetime) -> None:
    lang = ctx.settings.lang
    print("=" * 72 + f"\n{at:%Y-%m-%d %H:%M}\n" + "=" * 72)
    for province in ctx.settings.senders.provinces:
        report = province_report(ctx.engine, ctx.cycle, province, at)
        print(
            render(
                "province",
                lang,
                p=report.progress,
                unmatched=len(report.unmatched),
                outstanding=report.outstanding_units(),
                cycle=ctx.cycle,
            )
        )
        for unit in report.units:
            print("  " + render("unit_line", lang, u=unit, s=unit.status, cycle=ctx.cycle))
        print()
    due = reminders_at(ctx.engine, ctx.settings, ctx.cycle, at)
    for reminder in due:
        who = reminder.item.target
        print(f"→ {who}\n{reminder.text}\n")
    if not due:
        print(render("cli", lang, part="demo_nothing_due") + "\n")
