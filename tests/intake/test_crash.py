"""An ingest killed with SIGKILL part-way and run again leaves the state of one clean run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from bot.demo.story import build_mailbox, load_story
from bot.reports import unit_reports
from compliance.cycle import load_cycle
from storage.engine import make_engine

TABLES = ("unit", "unitalias", "rosterentry", "weeklysnapshot", "applicationline", "cancellationrecord")
CYCLE = load_cycle("2019-2020")
INSTANTS = ("2021-12-15T09:00", "2022-01-10T09:00")


def _config(folder: Path) -> Path:
    story = load_story()
    lines = [
        'cycle = "2019-2020"',
        "[senders]",
        f"ncsc = {json.dumps(story['senders']['ncsc'])}",
        "[senders.provinces]",
    ]
    lines += [f'"{p}" = {json.dumps(a)}' for p, a in story["senders"]["provinces"].items()]
    path = folder / "ccerbot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ccerbot(config: Path, db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "--config", str(config), "--db", f"sqlite:///{db}", *args]


def _done_messages(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return int(
                connection.execute(
                    "SELECT count(*) FROM inboundmessage WHERE state != 'processing'"
                ).fetchone()[0]
            )
    except sqlite3.OperationalError:  # not created yet
        return 0


def _kill_after(command: list[str], db: Path, messages: int) -> bool:
    """Start the ingest, SIGKILL it once `messages` are finished; False if it ended first."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while process.poll() is None:
            if _done_messages(db) >= messages:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.005)
        return False
    finally:
        if process.poll() is None:
            process.kill()


def _state(db: Path) -> dict[str, object]:
    with sqlite3.connect(db) as connection:
        counts = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        outcomes = sorted(
            connection.execute("SELECT content_hash, state, outcome FROM inboundmessage").fetchall()
        )
    engine = make_engine(f"sqlite:///{db}")
    reports = {
        at: [
            r.to_json()
            for r in unit_reports(engine, CYCLE, datetime.fromisoformat(at).replace(tzinfo=CYCLE.tz))
        ]
        for at in INSTANTS
    }
    engine.dispose()
    return {"counts": counts, "outcomes": outcomes, "reports": reports}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    folder = tmp_path_factory.mktemp("crash")
    build_mailbox(folder / "mail")
    config = _config(folder)
    clean = folder / "clean.db"
    subprocess.run(_ccerbot(config, clean, "ingest", str(folder / "mail")), check=True, capture_output=True)
    return folder, config, _state(clean)


@pytest.mark.parametrize("kill_after", [1, 9, 23])
def test_a_killed_ingest_run_again_equals_one_clean_run(
    corpus: tuple[Path, Path, dict[str, object]], kill_after: int
) -> None:
    folder, config, clean = corpus
    db = folder / f"killed-{kill_after}.db"
    command = _ccerbot(config, db, "ingest", str(folder / "mail"))
    assert _kill_after(command, db, kill_after), "the ingest ended before it could be killed"
    assert _done_messages(db) < len(list((folder / "mail").iterdir()))
    subprocess.run(command, check=True, capture_output=True)
    assert _state(db) == clean
