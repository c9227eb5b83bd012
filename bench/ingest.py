"""Ingest benchmark: a national season (32 provinces, 3,000 units) taken in whole, against the floor of
only reading the same spreadsheets in the same run; `--season 2025` takes the generated 2025 season
instead (four sectors, rosters and offset-operation lists).

Each database is measured in the modes `--modes` names (default: inline and pipelined):
- inline: `take` one message after another, reading in this process (the figure before the pipeline);
- pipelined: `take_all` with a worker process, as `ccerbot ingest` takes mail: the next message is read
  there while this process applies the last one;
- worker: `take` one message after another, reading in the worker, as `ccerbot run` takes mail.

It runs on SQLite, and on PostgreSQL too when `--postgres URL` or CCERBOT_TEST_POSTGRES_URL names one
(in a schema of its own, dropped afterwards); it prints each ratio to the floor and, for each run, the
process's peak RSS during it (this process's, the season's mail held in it: the worker's is its own).
By CPU time, a mode with a worker counts the longer of the two processes' CPU times, the wall time two
free cores would give. `--profile N` prints the N
costliest calls of the first SQLite run (cProfile, by cumulative time).

    .venv/bin/python -m bench.ingest [--units N] [--season 2019-2020|2025] [--postgres URL] [--profile N]
                                     [--modes inline,pipelined,worker] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bench.season import season
from bot.config import load_settings
from bot.demo import season2025
from mail.intake import IntakeConfig, Outcome, take, take_all
from mail.mime import walk
from mail.sandbox import Sandbox
from mail.tables import read_tables
from mail.trust import Senders
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.db import schema_url

POSTGRES_ENV = "CCERBOT_TEST_POSTGRES_URL"
MODES = ("inline", "pipelined", "worker")


@dataclass(frozen=True)
class Took:
    """Wall time, and this process's CPU time: on a machine shared with others the CPU time moves much
    less from run to run (SQLite works in this process; PostgreSQL's server does not count in it)."""

    wall: float
    cpu: float
    worker_cpu: float = 0.0  # the worker process's, when it reads

    @classmethod
    def since(cls, wall: float, cpu: float) -> Took:
        return cls(time.perf_counter() - wall, time.process_time() - cpu)

    @property
    def critical_cpu(self) -> float:
        """The longer of the two processes' CPU times: what the wall time would be on two free cores."""
        return max(self.cpu, self.worker_cpu)


def read_only(raws: list[bytes]) -> tuple[Took, int]:
    """The floor: MIME walk and spreadsheet reading, nothing else."""
    wall, cpu, rows = time.perf_counter(), time.process_time(), 0
    for raw in raws:
        for attachment in walk(raw).attachments:
            for table in read_tables(attachment.data, attachment.filename, attachment.content_type):
                rows += len(table.rows)
    return Took.since(wall, cpu), rows


def read_in_worker(raws: list[bytes], config: IntakeConfig) -> Took:
    """Everything the worker reads of each message (MIME, tables, rows into records, the sender judged)
    and the crossing back, one message after another as `run` reads: the pipeline, which hands the
    worker the next messages before it waits for one, hides the crossings."""
    sandbox = Sandbox()
    sandbox.warm()
    wall, cpu = time.perf_counter(), time.process_time()
    for raw in raws:
        sandbox.read(raw, config)
    took = Took.since(wall, cpu)
    sandbox.close()
    return took


def full_ingest(
    raws: list[bytes],
    url: str,
    config: IntakeConfig,
    mode: str = "inline",
    profile: cProfile.Profile | None = None,
) -> tuple[Took, int, dict[str, int]]:
    engine = make_engine(url)
    upgrade(engine)
    sandbox = Sandbox() if mode != "inline" else None
    if sandbox is not None:
        sandbox.warm()  # as the service does at start: the worker's imports are not intake's time
        config = replace(config, sandbox=sandbox)
    outcomes: dict[str, int] = {}
    worker_cpu = sandbox.cpu_seconds() if sandbox is not None else 0.0
    wall, cpu, rows = time.perf_counter(), time.process_time(), 0
    if profile is not None:
        profile.enable()
    for outcome in _taken(engine, raws, config, mode):
        outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
        rows += outcome.rows_applied
    if profile is not None:
        profile.disable()
    took = Took.since(wall, cpu)
    if sandbox is not None:
        took = replace(took, worker_cpu=sandbox.cpu_seconds() - worker_cpu)
        sandbox.close()
    engine.dispose()
    return took, rows, outcomes


def _taken(engine: Engine, raws: list[bytes], config: IntakeConfig, mode: str) -> Iterator[Outcome]:
    if mode == "pipelined":
        yield from take_all(engine, ((raw, f"{n}.eml") for n, raw in enumerate(raws)), config, _now)
        return
    for n, raw in enumerate(raws):
        yield take(engine, raw, f"{n}.eml", config, _now())


@contextmanager
def fresh_postgres(base: str) -> Iterator[str]:
    """A URL whose connections live in a new, empty schema, dropped afterwards: a rerun never finds the
    last run's messages (they would all be duplicates)."""
    with schema_url(base, "bench") as url:
        yield url


def reset_peak_rss() -> None:
    """Start the process's peak resident set afresh (Linux's VmHWM), so that each run's peak is its own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """The process's peak resident set since reset_peak_rss (without /proc: since it started)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kilobytes
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def profile_lines(profile: cProfile.Profile, count: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(count)
    return out.getvalue()


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
        "--postgres",
        metavar="URL",
        default=os.environ.get(POSTGRES_ENV) or None,
        help=f"also run on this PostgreSQL database, in a schema of its own (default: ${POSTGRES_ENV})",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the first SQLite run's N costliest calls"
    )
    parser.add_argument("--modes", default="inline,pipelined", help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="take each ingest N times, each right after a floor run of its own, and report the run of "
        "the median ratio: on a shared machine a neighbour's load comes and goes within a run",
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := [m for m in modes if m not in MODES]:
        parser.error(f"unknown mode(s): {', '.join(unknown)}")
    if args.season == "2025":
        raws, config = season_2025(args.units)
    else:
        folder = Path("var") / f"bench-season-{args.units}"
        paths = season(folder, args.units)
        raws = [p.read_bytes() for p in paths]
        settings = load_settings(str(folder / "ccerbot.toml"))
        config = IntakeConfig(senders=settings.trusted_senders(), tz=settings.tz)
    floor, table_rows = read_only(raws)
    print(f"season {args.season}: {len(raws)} messages, {table_rows} spreadsheet rows, {args.units} units")
    print(f"{'floor (read only):':<28}{_rates(floor.wall, len(raws), table_rows)}  CPU {floor.cpu:.2f} s")
    if "pipelined" in modes:
        worker = read_in_worker(raws, config)
        bound = _rates(worker.wall, len(raws), table_rows)
        print(f"{'read in the worker:':<28}{bound}  (one message at a time, as `run` reads)")
    print(f"each ingest: the median of {args.repeat} runs by ratio, each against a floor run just before it")
    ratios: list[str] = []
    profile = cProfile.Profile() if args.profile else None
    for mode in modes:

        def on_sqlite(mode: str = mode) -> tuple[Took, int, dict[str, int]]:
            nonlocal profile
            with tempfile.TemporaryDirectory() as tmp:
                result = full_ingest(raws, f"sqlite:///{tmp}/bench.db", config, mode, profile)
            if profile is not None:
                print(profile_lines(profile, args.profile))
                profile = None
            return result

        run = _median_run(raws, args.repeat, on_sqlite)
        ratios.append(_report(f"sqlite {mode}", run, len(raws)))
        ratios.append(f"sqlite {mode} by CPU time {run.floor.cpu / run.took.critical_cpu:.2f}")
    if args.postgres:
        for mode in modes:

            def on_postgres(mode: str = mode) -> tuple[Took, int, dict[str, int]]:
                with fresh_postgres(args.postgres) as url:
                    return full_ingest(raws, url, config, mode)

            ratios.append(_report(f"postgres {mode}", _median_run(raws, args.repeat, on_postgres), len(raws)))
    print(f"ratio to floor: {', '.join(ratios)}")


@dataclass(frozen=True)
class Run:
    """One ingest and the floor run just before it: the two share the machine's state of the moment."""

    floor: Took
    took: Took
    rows: int
    outcomes: dict[str, int]
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.floor.wall / self.took.wall


def _median_run(
    raws: list[bytes], repeat: int, ingest: Callable[[], tuple[Took, int, dict[str, int]]]
) -> Run:
    runs = []
    for _ in range(repeat):
        floor, _ = read_only(raws)
        reset_peak_rss()
        took, rows, outcomes = ingest()
        runs.append(Run(floor, took, rows, outcomes, peak_rss_mb()))
    runs.sort(key=lambda run: run.ratio)
    return runs[len(runs) // 2]


def _report(name: str, run: Run, messages: int) -> str:
    took, ratio, rates = run.took, run.ratio, _rates(run.took.wall, messages, run.rows)
    cpu = f"CPU {took.cpu:.2f} s" + (f" + worker {took.worker_cpu:.2f} s" if took.worker_cpu else "")
    peak = f"peak RSS {run.peak_mb:.0f} MB"
    floor = f"(its floor {run.floor.wall:.2f} s)"
    print(
        f"{f'ingest ({name}):':<28}{rates}  {cpu}  ratio to floor {ratio:.2f} {floor}  {peak}  {run.outcomes}"
    )
    return f"{name} {ratio:.2f}"


if __name__ == "__main__":
    main()
