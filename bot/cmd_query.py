"""Commands that read state at an instant: status, province, reminders."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli_output import emit_json, time_left
from bot.context import AppContext, UsageError
from bot.provinces import UnknownProvince, canonical_province
from bot.reports import national_report, no_unit, province_report, unit_report
from compliance.creditcode import is_valid_code, normalize_code
from templates import render


def add_status(commands: Any) -> None:
    parser = commands.add_parser("status", help="one unit's status")
    parser.add_argument("code", metavar="CODE", help="unified social credit code")
    parser.add_argument("--at", metavar="T", help="ISO instant (default: now)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=status)


def status(ctx: AppContext, args: argparse.Namespace) -> int:
    code = normalize_code(args.code)
    if not is_valid_code(code):
        raise UsageError(key="bad_code", code=args.code)
    at = ctx.instant(args.at)
    report = unit_report(ctx.engine, ctx.cycle, code, at)
    if report is None:
        raise no_unit(ctx.engine, ctx.cycle, code, at)
    if args.json:
        emit_json(report.to_json())
    else:
        lang = ctx.settings.lang
        left = time_left(report.status.next_deadline, at, lang)
        print(render("status", lang, r=report, s=report.status, left=left, cycle=ctx.cycle))
    return 0


def add_province(commands: Any) -> None:
    parser = commands.add_parser("province", help="a province's progress")
    parser.add_argument("name", metavar="NAME", help="province, e.g. 山东省")
    parser.add_argument("--at", metavar="T", help="ISO instant (default: now)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=province)


def province(ctx: AppContext, args: argparse.Namespace) -> int:
    try:
        name = canonical_province(args.name)
    except UnknownProvince:
        name = args.name.strip()  # not a province name at all: the report says which provinces it knows
    at = ctx.instant(args.at)  # first: without a configured cycle, --at chooses it
    report = province_report(ctx.engine, ctx.cycle, name, at)
    if args.json:
        emit_json(report.to_json())
    else:
        print(
            render(
                "province",
                ctx.settings.lang,
                p=report.progress,
                unmatched=len(report.unmatched),
                outstanding=report.outstanding_units(),
                cycle=ctx.cycle,
            )
        )
    return 0


def add_national(commands: Any) -> None:
    parser = commands.add_parser("national", help="every province's progress, furthest behind first")
    parser.add_argument("--at", metavar="T", help="ISO instant (default: now)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=national)


def national(ctx: AppContext, args: argparse.Namespace) -> int:
    at = ctx.instant(args.at)
    report = national_report(ctx.engine, ctx.cycle, at)
    if args.json:
        emit_json(report.to_json())
        return 0
    lang = ctx.settings.lang
    print(
        render(
            "national",
            lang,
            report=report,
            cycle=ctx.cycle,
            left95=time_left(ctx.cycle.target_95_at, at, lang),
            left100=time_left(ctx.cycle.compliance_deadline, at, lang),
        )
    )
    return 0


def add_reminders(commands: Any) -> None:
    parser = commands.add_parser("reminders", help="reminders and alerts due at an instant")
    parser.add_argument("--at", metavar="T", help="ISO instant (default: now)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--send", action="store_true", help="write them to the outbox and send them")
    parser.set_defaults(handler=reminders)


def reminders(ctx: AppContext, args: argparse.Namespace) -> int:
    from bot.notices.reminders import reminders_at

    if args.send:
        from bot.reminders_send import send_due

        summary, text = send_due(ctx, ctx.instant(args.at))
        if args.json:
            emit_json(summary)
        else:
            print(text)
        return 1 if summary["states"]["failed"] else 0
    at = ctx.instant(args.at)
    due = reminders_at(ctx.engine, ctx.settings, ctx.cycle, at)
    if args.json:
        emit_json([r.to_json() for r in due])
        return 0
    lang = ctx.settings.lang
    for reminder in due:
        channels = sorted({r.channel for r in reminder.recipients})
        print(
            render(
                "cli",
                lang,
                part="reminder_listed",
                target=reminder.item.target,
                channels=channels,
                text=reminder.text,
            )
            + "\n"
        )
    if not due:
        print(render("cli", lang, part="nothing_due"))
    return 0
