"""ccerbot's command line: one parser, one function a command, one clear line on error."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot import cmd_admin, cmd_cycles, cmd_ingest, cmd_query
from bot.config import ConfigError
from bot.context import AppContext, UsageError
from bot.reports import NotFound
from bot.telling import told
from compliance.tomlfields import CycleError
from storage.engine import DatabaseError
from templates import render

Handler = Callable[[AppContext, argparse.Namespace], int]
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access")


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("--db", metavar="URL", help="database URL (overrides database_url)")
    parser.add_argument("--lang", choices=["zh", "en"], help="language of the texts (default zh)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccerbot", description="全国碳市场 CCER 抵销配额清缴助手")
    _global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmd_admin.add_demo(commands)
    cmd_admin.add_run(commands)
    cmd_ingest.add(commands)
    cmd_query.add_status(commands)
    cmd_query.add_province(commands)
    cmd_query.add_national(commands)
    cmd_query.add_reminders(commands)
    cmd_admin.add_invite(commands)
    cmd_admin.add_quarantine(commands)
    cmd_admin.add_db(commands)
    cmd_admin.add_groups(commands)
    cmd_cycles.add(commands)
    return parser


def one_line(text: str) -> str:
    """Drivers answer in several lines; a command line error is one."""
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in QUIET_LOGGERS:  # httpx logs each request URL, and a Bot API URL holds the token
        logging.getLogger(chatty).setLevel(logging.WARNING)
    handler: Handler = args.handler
    lang = args.lang or "zh"
    try:
        context = AppContext.load(args.config, args.db)
        if args.lang:
            context.settings.lang = args.lang
        lang = context.settings.lang
        return handler(context, args)
    except (ConfigError, UsageError, NotFound, DatabaseError, CycleError) as error:
        print(f"ccerbot: {one_line(told(error, lang))}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    except KeyboardInterrupt:
        print(f"ccerbot: {render('cli_error', lang, key='interrupted')}", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: one line, never a traceback
        logging.getLogger("ccerbot").debug("unexpected error", exc_info=True)
        said = render(
            "cli_error", lang, key="internal", name=type(error).__name__, error=one_line(str(error))
        )
        print(f"ccerbot: {said}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
