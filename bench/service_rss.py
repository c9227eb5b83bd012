"""Memory of `ccerbot run` holding 10,000 units: idle after start-up, and during a deadline morning's
fan-out of reminders to 10,000 bound Telegram chats.

The database holds the generated 2025 season (bot/demo/season2025: rosters from four provinces and the
registry's offset-operation lists, up to `--until`) taken in through `mail.intake.take`, and one Telegram
chat bound to each unit. The service is the real `ccerbot run` in a child process, configured by its file
and environment as in production: the database, an (empty) watched mail folder, so that its reading worker
starts as it does in service, and Telegram at the loopback Bot API server (tests/servers/botapi.py, in a
process of its own, limited to Telegram's 30 messages a second).

The service's clock is set to a little before the reminders' slot of the morning `--morning` (default
2026-12-01 09:00 in Asia/Shanghai, 30 days before the 2025 deadline: every unit not yet complied is
reminded) by libfaketime, preloaded into the service's processes with a fixed offset from the real clock:
the code runs unchanged, as on a machine whose clock reads that morning. It ticks at start-up and a
minute later, both before the slot (idle is measured after the second), and again after it: that tick
writes the morning's reminders and the sender delivers them.

The figures are the service process's own, read from /proc/<pid>/status: VmRSS (resident now) and VmHWM
(the peak resident set since it started). The worker that reads mail, and the fork server it is forked
from, are processes of their own under their own memory limit (`read_memory_mb`); they are reported
apart and not counted in the service's figure.

    .venv/bin/python -m bench.service_rss [--units 10000] [--until 2026-11-19] [--morning 2026-12-01T09:00]

Needs libfaketime: the `libfaketime` package of the dev extras, or Debian's `libfaketime`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.botapi_process import bot_api, sent
from bot.demo import season2025
from compliance.cycle import load_cycle
from compliance.due import reminder_slot
from mail.intake import IntakeConfig, take
from mail.trust import Senders
from storage.engine import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import ChatBinding, OutboxItem

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
GOAL_MB = 150.0
FIRST_CHAT = 5_000_000
OFFICER_CHAT = 9_000_000
TELEGRAM_PER_S = 30.0  # Telegram's overall limit, which the server enforces with 429s as Telegram does
# The service ticks at start-up and then every minute (PTB's JobQueue, whose first run is a minute after
# start-up): the clock starts this long before the slot, so that the ticks of the first minute find
# nothing due (idle is measured after JobQueue's first) and the one after the slot writes the reminders.
BEFORE_SLOT_S = 90.0
TICKED = 'Job "ccerbot-scheduler'  # … executed successfully: APScheduler's line (-v) after each tick
QUIET_S = 3.0  # idle: the service used no CPU for this long
SAMPLE_S = 0.2
GUARD_S = 1800.0  # the fan-out of 10,000 takes about six minutes at 30 a second
DEBIAN_FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


# --- what is measured ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    rss_kb: int
    hwm_kb: int

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    @property
    def hwm_mb(self) -> float:
        return self.hwm_kb / 1024


def memory(pid: int) -> Memory:
    """The process's own resident set now and at its peak (VmRSS, VmHWM), in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return Memory(fields["VmRSS"], fields["VmHWM"])


def cpu_ticks(pid: int) -> int:
    """utime + stime of the process (all its threads), in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat[stat.rindex(")") + 2 :].split()
    return int(after_name[11]) + int(after_name[12])


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found += map(int, (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return found


def descendants(pid: int) -> Iterator[tuple[str, int]]:
    """The service's processes by what they are: the multiprocessing fork server and resource tracker
    it starts, and the reading worker forked from the fork server (it shares the server's command line)."""
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"resource_tracker" in cmdline:
            yield "resource tracker", child
        elif b"forkserver" in cmdline:
            yield "fork server", child
            yield from (("reading worker", worker) for worker in children(child))
        else:
            yield "child", child


def children_memory(pid: int) -> dict[str, tuple[Memory, int]]:
    """Each child process's memory and its PSS in kB (its share of the pages it shares with others)."""
    found: dict[str, tuple[Memory, int]] = {}
    for name, child in descendants(pid):
        try:
            mem = memory(child)
            pss = next(
                int(line.split()[1])
                for line in Path(f"/proc/{child}/smaps_rollup").read_text().splitlines()
                if line.startswith("Pss:")
            )
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
        found[name] = (mem, pss)
    return found


# --- the clock -------------------------------------------------------------------------------------


def faketime_library() -> Path | None:
    """libfaketime's preload library: the one the `libfaketime` package ships, else Debian's."""
    spec = importlib.util.find_spec("libfaketime")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
        if candidate.exists():
            return candidate
    return DEBIAN_FAKETIME if DEBIAN_FAKETIME.exists() else None


def clock_at(start: datetime) -> dict[str, str]:
    """The environment that makes a process's clock read `start` now, and run on from there.

    An offset from the real clock (not a start instant): the service and the worker processes it starts
    later read the same time. The monotonic clock is left alone: timeouts and rate limits run true.
    """
    library = faketime_library()
    if library is None:
        raise SystemExit("bench.service_rss needs libfaketime: pip install libfaketime (in the dev extras)")
    offset = round((start - datetime.now(UTC)).total_seconds())
    env = {
        "LD_PRELOAD": str(library),
        "FAKETIME": f"{offset:+d}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "DONT_FAKE_MONOTONIC": "1",
    }
    probe = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    if abs(float(probe.stdout) - start.timestamp()) > 30:
        raise SystemExit(f"libfaketime did not set the clock ({library}): {probe.stderr.strip()}")
    return env


# --- the database ----------------------------------------------------------------------------------


def populate(url: str, units: int, until: date, taken_at: datetime) -> dict[str, int]:
    """The 2025 season to `until`, taken in as intake takes mail, and one chat bound to each unit."""
    engine = make_engine(url)
    upgrade(engine)
    provinces = {province: [officer] for province, (_, officer) in season2025.PROVINCES.items()}
    config = IntakeConfig(senders=Senders.build((), provinces, [season2025.REGISTRY]), tz=TZ)
    outcomes: dict[str, int] = {}
    for n, (_, mail) in enumerate(season2025.season(units, until)):
        outcome = take(engine, mail.raw, f"season-{n}.eml", config, taken_at)
        outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
    bound = bind_every_unit(engine, taken_at)
    engine.dispose()
    return {**outcomes, "bound": bound}


def bind_every_unit(engine: Engine, at: datetime) -> int:
    """A Telegram chat bound to each unit, as /bind leaves it (one row each, written at once)."""
    from storage.models import Unit

    with session_scope(engine) as session:
        codes = sorted(session.exec(select(Unit.code)).all())
        session.execute(
            insert(ChatBinding),
            [
                {
                    "platform": "telegram",
                    "chat_id": str(FIRST_CHAT + n),
                    "role": "emitter",
                    "unit_code": code,
                    "lang": "zh",
                    "bound_at": at,
                }
                for n, code in enumerate(codes)
            ],
        )
    return len(codes)


def outbox_states(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all()
    return {state: int(count) for state, count in rows}


def outbox_kinds(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxItem.kind, func.count()).group_by(OutboxItem.kind)).all()
    return {kind: int(count) for kind, count in rows}


# --- the Bot API server, in a process of its own -----------------------------------------------------


def sent_count(conn: Connection) -> tuple[int, int, int]:
    """Messages the server took, of them repeats to a chat, and its 429 answers."""
    messages, limited = sent(conn)
    chats = [chat for chat, _ in messages]
    return len(chats), len(chats) - len(set(chats)), limited


# --- the service -----------------------------------------------------------------------------------


def config_text(url: str, inbox: Path, api: tuple[str, str, str]) -> str:
    base_url, base_file_url, _ = api
    lines = [
        'cycle = "2025"',
        'timezone = "Asia/Shanghai"',
        f"database_url = {json.dumps(url)}",
        f"mail_folder = {json.dumps(str(inbox))}",
        "[senders]",
        f"registry = {json.dumps([season2025.REGISTRY])}",
        "[senders.provinces]",
    ]
    lines += [f"{json.dumps(p)} = {json.dumps([a])}" for p, (_, a) in season2025.PROVINCES.items()]
    lines += [
        "[telegram]",
        f"base_url = {json.dumps(base_url)}",
        f"base_file_url = {json.dumps(base_file_url)}",
    ]
    for n, province in enumerate(season2025.PROVINCES):
        lines += ["[[officers]]", f"telegram_id = {OFFICER_CHAT + n}", f"province = {json.dumps(province)}"]
    return "\n".join(lines) + "\n"


@dataclass
class Figures:
    at_start: int  # outbox items written at start-up
    idle: Memory | None
    idle_children: dict[str, tuple[Memory, int]]
    peak_rss_kb: int  # the highest VmRSS sampled during the fan-out
    end: Memory
    end_children: dict[str, tuple[Memory, int]]
    written: dict[str, int]
    sent: int
    repeats: int
    rate_limited: int
    fan_out_s: float


def ticked(log: Path) -> bool:
    return any(TICKED in line and "executed successfully" in line for line in log.read_text().splitlines())


def wait_idle(pid: int, log: Path, until: float) -> bool:
    """Wait until the service has ticked once and then used no CPU for QUIET_S; False when `until`
    (monotonic) comes first."""
    while not ticked(log):
        if time.monotonic() > until:
            return False
        time.sleep(SAMPLE_S)
    last, since = cpu_ticks(pid), time.monotonic()
    while time.monotonic() < until:
        time.sleep(SAMPLE_S)
        now = cpu_ticks(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_S:
            return True
    return False


def measure(folder: Path, units: int, until: date, morning: datetime, log: Path | None = None) -> Figures:
    url = f"sqlite:///{folder / 'service.db'}"
    started = time.perf_counter()
    outcomes = populate(
        url, units, until, datetime.combine(until, datetime.min.time(), TZ) + timedelta(hours=20)
    )
    print(f"database: {outcomes} in {time.perf_counter() - started:.1f} s", flush=True)
    engine = make_engine(url)
    inbox = folder / "inbox"
    inbox.mkdir()
    slot = reminder_slot(morning.astimezone(TZ).date(), load_cycle("2025"))
    with bot_api(TELEGRAM_PER_S) as (api, server):
        (folder / "ccerbot.toml").write_text(config_text(url, inbox, api), "utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCERBOT_")}
        env["CCERBOT_TELEGRAM_TOKEN"] = api[2]
        env.update(clock_at(slot - timedelta(seconds=BEFORE_SLOT_S)))
        log = log or folder / "ccerbot.log"
        launched = time.monotonic()
        with log.open("wb") as output:
            service = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "-v", "--config", str(folder / "ccerbot.toml"), "run"],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=env,
                cwd=REPO,
            )
        try:
            return _watch(service, engine, server, launched, log)
        finally:
            _stop(service)
            engine.dispose()


def _stop(service: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a supervisor stops it; SIGKILL to it and its children if it has not stopped in a minute."""
    if service.poll() is not None:
        return
    service.send_signal(signal.SIGTERM)
    try:
        service.wait(60)
    except subprocess.TimeoutExpired:
        stragglers = [pid for _, pid in descendants(service.pid)]
        service.kill()
        service.wait()
        for pid in stragglers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        print("  ccerbot run did not stop within a minute of SIGTERM: killed", flush=True)


def _watch(
    service: subprocess.Popen[bytes], engine: Engine, server: Connection, launched: float, log: Path
) -> Figures:
    pid = service.pid
    quiet = wait_idle(pid, log, launched + BEFORE_SLOT_S - 2 * QUIET_S)
    idle = memory(pid) if quiet else None
    idle_children = children_memory(pid) if quiet else {}
    if idle is None:
        print("  the service had not ticked and settled before the slot: no idle figure", flush=True)
    else:
        print(f"  idle after start-up: VmRSS {idle.rss_mb:.1f} MB, VmHWM {idle.hwm_mb:.1f} MB", flush=True)
    before = sum(outbox_states(engine).values())  # what start-up wrote (anomaly alerts)
    peak, fan_out_from, counted = 0, 0.0, before
    last_poll = last_said = time.monotonic()
    no_reminders_by = launched + BEFORE_SLOT_S + 120  # the tick after the slot, and its work
    guard = time.monotonic() + GUARD_S
    while True:
        if service.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"ccerbot run ended ({service.returncode}):\n{tail}")
        peak = max(peak, memory(pid).rss_kb)
        time.sleep(SAMPLE_S)
        now = time.monotonic()
        if now - last_poll < 2.0:
            continue
        last_poll = now
        states = outbox_states(engine)
        total = sum(states.values())
        if not fan_out_from and total > before:
            fan_out_from = now
        if fan_out_from and total == counted and set(states) == {"sent"}:
            break
        counted = total
        if not fan_out_from and now > no_reminders_by:
            raise SystemExit(f"no reminders were written on the morning: {states}\n{log.read_text()[-2000:]}")
        if now > guard:
            raise SystemExit(f"not settled within {GUARD_S:.0f} s: {states}")
        if now - last_said > 30:
            last_said = now
            print(f"  … {states}, VmRSS peak so far {peak / 1024:.1f} MB", flush=True)
    end, end_children = memory(pid), children_memory(pid)
    sent, repeats, limited = sent_count(server)
    return Figures(
        before,
        idle,
        idle_children,
        max(peak, end.rss_kb),
        end,
        end_children,
        outbox_kinds(engine),
        sent,
        repeats,
        limited,
        time.monotonic() - fan_out_from,
    )


def report(figures: Figures, units: int, until: date, morning: datetime) -> None:
    print(
        f"ccerbot run, {units} units (2025 season to {until}), {units} bound Telegram chats, "
        f"SQLite; clock set to {morning:%Y-%m-%d %H:%M} {morning.tzname()} (less {BEFORE_SLOT_S:g} s) "
        "by libfaketime"
    )
    if figures.idle is not None:
        print(
            f"  idle after start-up: VmRSS {figures.idle.rss_mb:.1f} MB "
            f"(start-up peak VmHWM {figures.idle.hwm_mb:.1f} MB)"
        )
    print(f"  outbox: {figures.written} ({figures.at_start} of them written at start-up)")
    print(
        f"  fan-out: {figures.sent} sent in {figures.fan_out_s:.0f} s from the reminders' writing "
        f"({figures.repeats} repeats to a chat, {figures.rate_limited} × 429); "
        f"VmRSS sampled peak {figures.peak_rss_kb / 1024:.1f} MB, VmHWM {figures.end.hwm_mb:.1f} MB, "
        f"VmRSS after {figures.end.rss_mb:.1f} MB"
    )
    for when, children in (("idle", figures.idle_children), ("after the fan-out", figures.end_children)):
        parts = [
            f"{name}: VmRSS {m.rss_kb / 1024:.0f} MB, PSS {pss / 1024:.0f} MB"
            for name, (m, pss) in children.items()
        ]
        print(f"  the service's children, {when} (not counted above): {'; '.join(parts) or 'none'}")
    # the kernel updates VmHWM lazily: a sample of VmRSS may be above it
    peak = max(figures.end.hwm_kb, figures.peak_rss_kb) / 1024
    verdict = "met" if peak <= GOAL_MB else "NOT met"
    print(f"  goal: the service's peak RSS <= {GOAL_MB:g} MB: {verdict} ({peak:.1f} MB)")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service_rss", description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--until", default="2026-11-19", help="the season's mail up to this day")
    parser.add_argument(
        "--morning", default="2026-12-01T09:00", help="the deadline morning the service's clock is set to"
    )
    parser.add_argument("--log", type=Path, help="keep the service's log (-v) in this file")
    args = parser.parse_args(argv)
    until = date.fromisoformat(args.until)
    morning = datetime.fromisoformat(args.morning)
    morning = morning if morning.tzinfo else morning.replace(tzinfo=TZ)
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(Path(folder), args.units, until, morning, args.log)
    report(figures, args.units, until, morning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
