"""Every bad file and message of the corpus through `ingest`, on a seeded database.

Each is refused with a clear reason, or applied row by row with the expected rows refused; the raw
message is kept; and nothing else changes: every unit's status and every table's row count are as
before, apart from what the good rows were meant to do. The memory-heavy entries (bombs, a million
rows) run in a child process whose address space is capped, so that a blow-up fails the test instead
of the machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.reports import province_report, unit_reports
from compliance.cycle import load_cycle
from mail import intake
from storage import inbox
from storage.engine import make_engine
from storage.models import InboundMessage
from tests.db import upgraded_engine
from tests.intake.world import CONFIG, LATER, SD, SD_UNITS, at, roster_mail, take
from tests.robustness.corpus_bad import CORPUS, Bad, seed

CYCLE = load_cycle("2019-2020")
INSTANTS = (at("2021-12-01T09:00"), LATER)
PROVINCES = ("山东省", "广东省")
MEMORY_LIMIT = 1536 * 1024 * 1024  # bytes of address space for the child running a heavy entry
HEAVY_AT_ONCE = 2
ROOT = Path(__file__).resolve().parents[2]

# Entries the code under test gets wrong today: name → the bug, in one line.
KNOWN_BUGS = {}

_CJK = re.compile(r"[\u3400-\u9fff]")
_PYTHON_TEXT = re.compile(
    r"Traceback|File \"|\[SQL|[A-Z][A-Za-z]*(?:Error|Exception)\b"
    r"|0x[0-9a-fA-F]{6,}|<[\w.]+ object|\bb'|\\x[0-9a-f]{2}"
)


# ---- running one entry -------------------------------------------------------------------------


def copy_database(template: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in sorted(SQLModel.metadata.tables.items())
        }


def snapshot(engine: Engine) -> dict[str, Any]:
    """Row counts, every unit's report and each province's report, at each instant."""
    units = {
        when.isoformat(): {r.code: r.to_json() for r in unit_reports(engine, CYCLE, when)}
        for when in INSTANTS
    }
    provinces = {
        when.isoformat(): {p: province_report(engine, CYCLE, p, when).to_json() for p in PROVINCES}
        for when in INSTANTS
    }
    return json.loads(json.dumps({"counts": row_counts(engine), "units": units, "provinces": provinces}))


@functools.cache
def raw_of(name: str) -> bytes:
    return CORPUS[name].build()


def run_entry(
    name: str, template: Path, folder: Path, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ingest one entry into a copy of the seeded database; everything needed to judge it, as JSON.

    `before`: the seeded database's snapshot, when the caller has it already."""
    database = folder / f"{name}.db"
    copy_database(template, database)
    engine = make_engine(f"sqlite:///{database}")
    try:
        before = before or snapshot(engine)
        raw = raw_of(name)
        try:
            outcome = intake.take(engine, raw, f"corpus/{name}.eml", CONFIG, LATER)
        except Exception as error:  # reported, not raised: the child must still answer
            return {"raised": f"{type(error).__name__}: {error}"[:500]}
        stored = inbox.get(engine, outcome.message_pk or 0)
        result = {
            "outcome": outcome.outcome,
            "reason": outcome.reason,
            "rows_applied": outcome.rows_applied,
            "row_errors": [[e.row, e.reason] for e in outcome.row_errors],
            "stored": None if stored is None else _stored(stored, raw),
            "before": before,
            "after": snapshot(engine),
        }
    finally:
        engine.dispose()
    return json.loads(json.dumps(result))


def _stored(message: InboundMessage, raw: bytes) -> dict[str, Any]:
    return {
        "same_bytes": message.content_hash == hashlib.sha256(raw).hexdigest() and message.raw == raw,
        "state": message.state,
        "outcome": message.outcome,
        "reason": message.reason,
        "row_errors": [[e["row"], e["reason"]] for e in inbox.row_errors_of(message)],
    }


def heavy_main(argv: list[str]) -> None:
    """In a fresh interpreter: each entry in a forked child of its own, its address space capped,
    two at a time.

    Writes NAME.json (the result) and NAME.status (the child's exit code, negative for a signal)."""
    template, folder, *names = argv
    running: dict[int, str] = {}
    waiting = list(names)
    while waiting or running:
        if waiting and len(running) < HEAVY_AT_ONCE:
            name = waiting.pop(0)
            running[_fork_entry(name, Path(template), Path(folder))] = name
            continue
        pid, status = os.wait()
        name = running.pop(pid)
        (Path(folder) / f"{name}.status").write_text(str(os.waitstatus_to_exitcode(status)))


def _fork_entry(name: str, template: Path, folder: Path) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1  # pragma: no cover - from here on, the child
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        result = run_entry(name, template, folder)
        (folder / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


_RUNNER = "import sys\nfrom tests.robustness.test_bad_inputs import heavy_main\nheavy_main(sys.argv[1:])\n"


# ---- judging it --------------------------------------------------------------------------------


def assert_clear(reason: str | None) -> None:
    """Said for a person: non-empty, in Chinese, no Python in it."""
    assert reason and reason.strip(), "no reason given"
    assert _CJK.search(reason), f"not in Chinese: {reason!r}"
    assert not _PYTHON_TEXT.search(reason), f"Python text in the reason: {reason!r}"
    assert not reason.startswith("处理出错"), f"processing crashed: {reason!r}"


def judge(bad: Bad, result: dict[str, Any]) -> None:
    assert "raised" not in result, f"ingest raised {result.get('raised')}"
    expect = bad.expect
    stored = result["stored"]
    assert stored is not None and stored["same_bytes"], "the raw message was not kept as it came"
    if expect.outcome == "quarantined":
        assert result["outcome"] == "quarantined", (result["outcome"], result["row_errors"])
        assert_clear(result["reason"])
        assert expect.reason in result["reason"], result["reason"]
        assert (result["rows_applied"], result["row_errors"]) == (0, [])
        assert (stored["state"], stored["reason"]) == ("quarantined", result["reason"])
    else:
        assert result["outcome"] == "applied_with_row_errors", (result["outcome"], result["reason"])
        assert [row for row, _ in result["row_errors"]] == list(expect.rows), result["row_errors"]
        for row, reason in result["row_errors"]:
            assert reason.startswith(f"第{row}行："), reason
            assert_clear(reason)
        assert result["rows_applied"] == expect.applied
        assert (stored["state"], stored["outcome"]) == ("done", "applied_with_row_errors")
        assert stored["row_errors"] == result["row_errors"]
    _nothing_else_changed(bad, result["before"], result["after"])


def _nothing_else_changed(bad: Bad, before: dict[str, Any], after: dict[str, Any]) -> None:
    expect = bad.expect
    grown = {t: after["counts"][t] - before["counts"][t] for t in before["counts"] if t not in expect.loose}
    told = grown.pop("outboxitem", 0)  # the sender's receipt: what it says is tested with the receipts
    wanted = {t: 0 for t in grown} | {"inboundmessage": 1} | dict(expect.grows)
    assert grown == wanted, "table row counts"
    assert told <= 1, "one receipt at most (no officer is bound in this database)"
    touched_provinces = set()
    for when in before["units"]:
        was, now = before["units"][when], after["units"][when]
        assert set(now) == set(was), "the units known"
        for code in was:
            if code in expect.touched:
                touched_provinces.add(was[code]["province"])
            else:
                assert now[code] == was[code], f"unit {code} at {when}"
    last = LATER.isoformat()
    for code in expect.touched:
        assert after["units"][last][code] != before["units"][last][code], (
            f"the good rows did not reach {code}"
        )
    for when in before["provinces"]:
        for province in set(PROVINCES) - touched_provinces:
            assert after["provinces"][when][province] == before["provinces"][when][province], province


# ---- fixtures and tests ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded database, built once; each entry runs on its own copy."""
    folder = tmp_path_factory.mktemp("seeded")
    with upgraded_engine("sqlite", folder) as engine:
        seed(engine)
    return folder / "test.db"


@pytest.fixture(scope="module")
def seeded_snapshot(template: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{template}")
    try:
        return snapshot(engine)
    finally:
        engine.dispose()


@dataclass
class HeavyRuns:
    """The heavy entries this session selected, started together as soon as the first entry runs."""

    folder: Path
    runner: subprocess.Popen[str] | None
    stderr: str = ""

    def result(self, name: str) -> tuple[int, dict[str, Any] | None, str]:
        if self.runner is not None and self.runner.returncode is None:
            _, self.stderr = self.runner.communicate()
        status = self.folder / f"{name}.status"
        assert status.exists(), f"{name} was not run: {self.stderr[-2000:]}"
        found = self.folder / f"{name}.json"
        result = json.loads(found.read_text(encoding="utf-8")) if found.exists() else None
        return int(status.read_text()), result, self.stderr


@pytest.fixture(scope="module")
def heavy_runs(
    template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[HeavyRuns]:
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_bad_input"
        and CORPUS[item.callspec.params["name"]].expect.heavy
    ]
    folder = tmp_path_factory.mktemp("heavy")
    command = [sys.executable, "-c", _RUNNER, str(template), str(folder), *selected]
    runner = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) if selected else None
    runs = HeavyRuns(folder, runner)
    yield runs
    if runner is not None and runner.poll() is None:
        runner.kill()
        runner.communicate()


def _params() -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name]))
        if name in KNOWN_BUGS
        else name
        for name in sorted(CORPUS, key=lambda n: CORPUS[n].expect.heavy)  # heavy last: started first
    ]


def test_the_corpus_is_large_and_every_known_bug_names_an_entry() -> None:
    assert len(CORPUS) >= 40
    assert set(KNOWN_BUGS) <= set(CORPUS)


@pytest.mark.parametrize("name", _params())
def test_bad_input(
    name: str, template: Path, seeded_snapshot: dict[str, Any], heavy_runs: HeavyRuns, tmp_path: Path
) -> None:
    bad = CORPUS[name]
    if not bad.expect.heavy:
        judge(bad, run_entry(name, template, tmp_path, seeded_snapshot))
        return
    status, result, stderr = heavy_runs.result(name)
    assert status == 0, f"the process died ({status}): {stderr[-2000:]}"
    assert result is not None
    judge(bad, result)


def test_intake_goes_on_after_the_whole_corpus(template: Path, tmp_path: Path) -> None:
    """One database takes every light entry in turn; a good roster afterwards is applied as ever."""
    database = tmp_path / "all.db"
    copy_database(template, database)
    engine = make_engine(f"sqlite:///{database}")
    try:
        for name, bad in CORPUS.items():
            if bad.expect.heavy or name in KNOWN_BUGS or len(raw_of(name)) > 2 * 1024 * 1024:
                continue
            outcome = take(engine, raw_of(name), f"corpus/{name}.eml").outcome
            assert outcome in ("quarantined", "applied_with_row_errors", "duplicate"), name
        outcome = take(engine, roster_mail(SD, SD_UNITS, "2021-11-30T10:00"))
        assert (outcome.outcome, outcome.rows_applied) == ("applied", 3)
        assert not inbox.unfinished(engine)
    finally:
        engine.dispose()
