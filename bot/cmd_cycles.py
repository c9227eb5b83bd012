"""`ccerbot cycles`: every bundled cycle, its key dates and sources, and which one the bot follows."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli_output import emit_json
from bot.context import AppContext
from compliance.cycle import Cycle, all_cycles, with_overrides
from templates import render


def add(commands: Any) -> None:
    parser = commands.add_parser("cycles", help="the compliance cycles, their dates and sources")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=cycles)


def cycles(ctx: AppContext, args: argparse.Namespace) -> int:
    followed = ctx.cycle
    overrides = ctx.settings.cycle_overrides
    shown = [
        followed if cycle.name == followed.name else with_overrides(cycle, overrides.get(cycle.name, {}))
        for cycle in all_cycles()
    ]
    if args.json:
        emit_json([_json(cycle, cycle.name == followed.name) for cycle in shown])
        return 0
    print(render("cycles", ctx.settings.lang, cycles=shown, followed=followed.name, chosen=ctx.cycle_chosen))
    return 0


def _json(cycle: Cycle, followed: bool) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "name": cycle.name,
        "title": cycle.title,
        "followed": followed,
        "obligations": list(cycle.obligations),
        "sectors": list(cycle.sectors),
        "procedure": cycle.procedure,
        "mail_kinds": list(cycle.mail_kinds),
        "window_opens": iso(cycle.window_opens),
        "window_closes": iso(cycle.window_closes),
        "target_95_at": iso(cycle.target_95_at),
        "compliance_deadline": iso(cycle.compliance_deadline),
        "cap_ratio": str(cycle.cap_ratio),
        "cap_per_year": cycle.cap_per_year,
        "old_ccer_usable_until": iso(cycle.old_ccer_usable_until),
        "new_ccer_from": iso(cycle.new_ccer_from),
        "source": cycle.source,
        "sources": dict(cycle.sources),
        "uncertain": dict(cycle.uncertain),
        "overridden": sorted(cycle.overridden),
    }
