"""`ccerbot ingest PATH...`: .eml files, folders of them, or a Maildir."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from bot.cli_output import emit_json
from bot.context import AppContext, UsageError
from mail.intake import Outcome, resume, take_all
from mail.sources import SourceError, iter_paths
from templates import render


def add(commands: Any) -> None:
    parser = commands.add_parser("ingest", help="take in mail from .eml files, folders or a Maildir")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--json", action="store_true", help="one JSON object per message")
    parser.set_defaults(handler=run)


def outcome_json(outcome: Outcome) -> dict[str, object]:
    return {
        "file": outcome.source,
        "message_id": outcome.message_id,
        "kind": outcome.kind,
        "outcome": outcome.outcome,
        "rows_applied": outcome.rows_applied,
        "row_errors": [{"row": e.row, "reason": e.reason} for e in outcome.row_errors],
        "reason": outcome.reason,
        "sender": outcome.sender,
        "province": outcome.province,
    }


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    try:
        files = list(iter_paths(args.paths))
    except SourceError as error:
        raise UsageError(str(error)) from None
    # read in the worker process, as the service reads: the next file there while this one is applied
    config, engine = ctx.intake_config(sandboxed=True), ctx.engine
    try:
        outcomes = resume(engine, config, ctx.now())
        progress = Progress(len(files), enabled=not args.json and sys.stderr.isatty())
        raws = ((path.read_bytes(), str(path)) for path in files)
        for outcome in take_all(engine, raws, config, ctx.now):
            outcomes.append(outcome)
            progress.step()
        progress.close()
    finally:
        ctx.close_sandbox()
    if args.json:
        emit_json([outcome_json(o) for o in outcomes])
    else:
        print(summary(outcomes, ctx.settings.lang))
    return 0


def summary(outcomes: list[Outcome], lang: str = "zh") -> str:
    counts = Counter(o.outcome for o in outcomes)
    order = ("applied", "applied_with_row_errors", "duplicate", "superseded", "quarantined")
    rows = sum(o.rows_applied for o in outcomes)
    present = [(name, counts[name]) for name in order if counts[name]]
    return render("cli", lang, part="ingest_summary", total=len(outcomes), counts=present, rows=rows)


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 20

    def step(self) -> None:
        self.done += 1
        if self.enabled and (self.done % 10 == 0 or self.done == self.total):
            width = 30
            filled = width * self.done // max(self.total, 1)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
