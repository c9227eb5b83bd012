"""Commands that change things: invite, quarantine, db, and the entry points demo and run."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from bot.cli_output import emit_json
from bot.context import AppContext, UsageError
from bot.provinces import UnknownProvince, canonical_province
from compliance.creditcode import is_valid_code, normalize_code
from mail.intake import process
from storage import access, inbox
from storage.engine import session_scope
from storage.migrate import upgrade
from storage.units import find_unit
from templates import render


def add_demo(commands: Any) -> None:
    parser = commands.add_parser("demo", help="the whole job offline, on bundled sample mail")
    parser.add_argument("--dir", default="var", help="where demo.db and the demo mailbox go (default ./var)")
    parser.add_argument("--no-chat", action="store_true", help="do not open the console chat")
    parser.add_argument(
        "--cycle",
        choices=["2019-2020", "2025"],
        default="2019-2020",
        help="the first cycle, or a 2025 season",
    )
    parser.add_argument(
        "--until", metavar="DATE", help="--cycle 2025: the mail up to this day (default 2026-12-04)"
    )
    parser.add_argument("--units", type=int, metavar="N", help="--cycle 2025: how many units (default 40)")
    parser.set_defaults(handler=demo)


def demo(ctx: AppContext, args: argparse.Namespace) -> int:
    if args.cycle == "2025":
        from bot.demo.run2025 import run_demo_2025

        return run_demo_2025(ctx, args)
    from bot.demo.run import run_demo

    return run_demo(ctx, args)


def add_run(commands: Any) -> None:
    parser = commands.add_parser("run", help="the service: Telegram, IMAP intake, scheduler, outbox sender")
    parser.add_argument("--since", metavar="DATE", help="a new IMAP mailbox: take the mail from this date on")
    parser.set_defaults(handler=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from bot.service import run_service

    if args.since:
        if ctx.settings.imap is None:
            raise UsageError(key="since_needs_imap")
        try:
            ctx.settings.imap.since = date.fromisoformat(args.since)
        except ValueError:
            raise UsageError(key="bad_since", text=args.since) from None
    return run_service(ctx)


def add_invite(commands: Any) -> None:
    parser = commands.add_parser("invite", help="a one-time binding code (printed on the last line)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--unit", metavar="CODE", help="for an emitter: the unit's credit code")
    group.add_argument("--officer", metavar="PROVINCE", help='for an officer: a province, or "*" for all')
    parser.set_defaults(handler=invite)


def invite(ctx: AppContext, args: argparse.Namespace) -> int:
    now = ctx.now()
    with session_scope(ctx.engine) as session:
        if args.unit:
            code = normalize_code(args.unit)
            if not is_valid_code(code) or find_unit(session, code) is None:
                raise UsageError(key="invite_no_unit", code=args.unit)
            plain = access.new_code(session, role="emitter", unit_code=code, now=now)
            who = code
        else:
            try:
                province = canonical_province(args.officer, national=True)
            except UnknownProvince as error:
                raise UsageError(str(error)) from None
            plain = access.new_code(session, role="officer", province=province, now=now)
            who = province
    expires = (now + access.CODE_TTL).strftime("%Y-%m-%d %H:%M")
    lang = ctx.settings.lang
    print(
        render(
            "cli",
            lang,
            part="invite",
            province=None if args.unit else who,
            unit=who,
            expires=expires,
            code=plain,
        )
    )
    print(plain)
    return 0


def add_quarantine(commands: Any) -> None:
    parser = commands.add_parser("quarantine", help="messages kept but not applied")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list")
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show")
    show.add_argument("id", type=int)
    retry = sub.add_parser("retry")
    retry.add_argument("id", type=int)
    parser.set_defaults(handler=quarantine)


def quarantine(ctx: AppContext, args: argparse.Namespace) -> int:
    if args.action == "list":
        kept = inbox.quarantined(ctx.engine)
        if args.json:
            emit_json(
                [
                    {
                        "id": m.id,
                        "sender": m.sender,
                        "subject": m.subject,
                        "reason": m.reason,
                        "attempts": m.attempts,
                        "received_at": m.received_at.isoformat(),
                    }
                    for m in kept
                ]
            )
        for m in [] if args.json else kept:
            print(f"{m.id}\t{m.received_at:%Y-%m-%d %H:%M}\t{m.sender or '-'}\t{m.subject}\t{m.reason}")
        if not kept and not args.json:
            print(render("cli", ctx.settings.lang, part="quarantine_empty"))
        return 0
    message = inbox.get(ctx.engine, args.id)
    if message is None or message.state != "quarantined":
        raise UsageError(key="no_quarantined", id=args.id)
    if args.action == "show":
        print(render("cli", ctx.settings.lang, part="quarantine_show", m=message))
        return 0
    inbox.reset_for_retry(ctx.engine, args.id)
    outcome = process(ctx.engine, args.id, ctx.intake_config(), ctx.now(), message.source)
    print(render("cli", ctx.settings.lang, part="retried", id=args.id, outcome=outcome))
    return 0 if outcome.outcome != "quarantined" else 1


def add_db(commands: Any) -> None:
    parser = commands.add_parser("db", help="database administration")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("upgrade", help="bring the schema to the newest revision")
    parser.set_defaults(handler=db)


def db(ctx: AppContext, args: argparse.Namespace) -> int:
    engine = ctx.open_engine()
    print(render("cli", ctx.settings.lang, part="db_upgraded", revision=upgrade(engine)))
    return 0


def add_groups(commands: Any) -> None:
    parser = commands.add_parser("groups", help="group robots (WeCom, DingTalk, Feishu)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("test", help="send a test message to every configured group and report each result")
    parser.set_defaults(handler=groups)


def groups(ctx: AppContext, args: argparse.Namespace) -> int:
    import asyncio

    from bot.groups import trial

    if not ctx.settings.groups:
        raise UsageError(key="no_groups")
    results = asyncio.run(trial.try_groups(ctx.settings))
    print(trial.format_results(results, ctx.settings.lang))
    return 0 if trial.all_ok(results) else 1
