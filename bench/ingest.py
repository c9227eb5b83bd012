"""Ingest benchmark: a national season (32 provinces, 3,000 units) taken in whole, against the floor of
only reading the same spreadsheets in the same run; `--season 2025` takes the generated 2025 season
instead (four sectors, rosters and offset-operation lists).

    .venv/bin/python -m bench.ingest [--units N] [--season 2019-2020|2025] [--postgres URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.season import season
from bot.config import load_settings
from bot.demo import season2025
from mail.intake import IntakeConfig, take
from mail.mime import walk
from mail.tables import read_tables
from mail.trust import Senders
from storage.engine import make_engine
from storage.migrate import upgrade


def read_only(raws: list[bytes]) -> tuple[float, int]:
    """The floor: MIME walk and spreadsheet reading, nothing else."""
    start, rows = time.perf_counter(), 0
    for raw in raws:
        for attachment in walk(raw).attachments:
            for table in read_tables(attachment.data, attachment.filename, attachment.content_type):
                rows += len(table.rows)
    return time.perf_counter() - start, rows


def full_ingest(raws: list[bytes], url: str, config: IntakeConfig) -> tuple[float, int, dict[str, int]]:
    engine = make_engine(url)
    upgrade(engine)
    outcomes: dict[str, int] = {}
    start, rows = time.perf_counter(), 0
    for n, raw in enumerate(raws):
        outcome = take(engine, raw, f"{n}.eml", config, _now())
        outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
        rows += outcome.rows_applied
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, rows, outcomes


def season_2025(units: int) -> tuple[list[bytes], IntakeConfig]:
    """The generated 2025 season to its end, trusting its provinces and the registry."""
    raws = [mail.raw for _, mail in season2025.season(units, date(2026, 12, 31))]
    provinces = {province: [officer] for province, (_, officer) in season2025.PROVINCES.items()}
    senders = Senders.build((), provinces, [season2025.REGISTRY])
    return raws, IntakeConfig(senders=senders, tz=ZoneInfo("Asia/Shanghai"))


def _now() -> datetime:
    return datetime(2022, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def _rates(seconds: float, messages: int, rows: int) -> str:
    return f"{seconds:7.2f} s  {messages / seconds:8.0f} msg/s  {rows / seconds:9.0f} rows/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--season", choices=["2019-2020", "2025"], default="2019-2020")
    parser.add_argument(
        "--postgres", metavar="URL", help="also run on this PostgreSQL database (emptied first)"
    )
    args = parser.parse_args()
    if args.season == "2025":
        raws, config = season_2025(args.units)
    else:
        folder = Path("var") / f"bench-season-{args.units}"
        paths = season(folder, args.units)
        raws = [p.read_bytes() for p in paths]
        settings = load_settings(str(folder / "ccerbot.toml"))
        config = IntakeConfig(senders=settings.trusted_senders(), tz=settings.tz)
    floor_s, table_rows = read_only(raws)
    print(f"season: {len(raws)} messages, {table_rows} spreadsheet rows, {args.units} units")
    print(f"floor (read only):  {_rates(floor_s, len(raws), table_rows)}")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        if args.postgres:
            runs.append(("postgres", args.postgres))
        for name, url in runs:
            elapsed, rows, outcomes = full_ingest(raws, url, config)
            rates, ratio = _rates(elapsed, len(raws), rows), floor_s / elapsed
            print(f"{f'ingest ({name}):':<20}{rates}  ratio to floor {ratio:.2f}  {outcomes}")


if __name__ == "__main__":
    main()
