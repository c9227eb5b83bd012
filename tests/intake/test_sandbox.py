"""Untrusted bytes are read in a worker process under a memory limit: a message that needs more is
stopped and quarantined once with the reason, and the next message is read as usual."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mail.intake import IntakeConfig, Outcome, Read, Refused, read_here, resume, take, take_all
from mail.sandbox import MiB, Sandbox
from mail.worker_process import YOUNG_OBJECTS
from storage import inbox
from tests import shared
from tests.intake.stalling import END, STALL, collector_probe, stalling_read, warm_reader
from tests.intake.world import CONFIG, LATER, SD, SD_UNITS, at, roster_mail
from tests.mail.corpus import build_message


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(memory_bytes=250 * MiB, wall_s=300)
    yield box
    box.close()


def test_a_message_over_the_memory_limit_is_quarantined_once(sqlite_engine: Engine, sandbox: Sandbox) -> None:
    config = replace(CONFIG, sandbox=sandbox)
    # under every size cap, over the memory limit
    cells = "<table>" + ("<tr><td>" + "汉" * 30 + "<td>" + "汉" * 30) * 120_000 + "</table>"
    bomb = build_message(
        sender=SD, to="bot@example.cn", subject="名录", date=at("2021-10-25T14:00"), html_body=cells
    )
    outcome = take(sqlite_engine, bomb, "bomb.eml", config, LATER)
    assert outcome.outcome == "quarantined"
    assert "读取邮件所需内存超过 250 MB" in (outcome.reason or "")
    assert take(sqlite_engine, bomb, "bomb.eml", config, LATER).outcome == "duplicate"
    [kept] = inbox.quarantined(sqlite_engine)
    assert kept.attempts == 1
    assert take(sqlite_engine, roster_mail(SD, SD_UNITS), "ok.eml", config, LATER).outcome == "applied"


def test_the_worker_reads_with_our_packages_whatever_the_working_directory(tmp_path: Path) -> None:
    """A mail folder named "mail" in the service's working directory once shadowed the `mail` package in
    the worker process: every message was quarantined with "headers.toml not found"."""
    (tmp_path / "mail").mkdir()  # as with mail_folder = "mail"
    (tmp_path / "compliance").mkdir()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from zoneinfo import ZoneInfo\n"
        "from mail.intake import IntakeConfig, read_message\n"
        "from mail.sandbox import Sandbox\n"
        "from mail.trust import Senders\n"
        "if __name__ == '__main__':\n"  # the worker imports this file again, as any program's
        "    sandbox = Sandbox(wall_s=60)\n"
        "    senders = Senders.build([], {'山东省': ['ccer@sthj.shandong.example']})\n"
        "    config = IntakeConfig(senders, ZoneInfo('Asia/Shanghai'), sandbox=sandbox)\n"
        "    parsed = read_message(Path(sys.argv[1]).read_bytes(), config).parsed\n"
        "    sandbox.close()\n"
        "    print(parsed[0].kind, len(parsed[0].records))\n"
    )
    runner = tmp_path / "bin" / "read_one.py"  # as the `ccerbot` script: its own folder first on sys.path
    runner.parent.mkdir()
    runner.write_text(script, encoding="utf-8")
    sample = shared.SAMPLES / "mail" / "001-roster.eml"
    done = subprocess.run(
        [sys.executable, str(runner), str(sample)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["roster", "8"]


def test_a_strangers_message_is_refused_in_the_worker(sandbox: Sandbox) -> None:
    """Nothing an untrusted message holds crosses back into the service: only the refusal does."""
    stranger = roster_mail("someone@evil.example", SD_UNITS)

    with pytest.raises(Refused) as refused:
        sandbox.read(stranger, CONFIG)

    assert "不在可信名单" in refused.value.reason


def test_starting_the_worker_leaves_the_services_environment_as_it_was(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PYTHONSAFEPATH is for the fork server only: left in the service's environment, every program it
    starts later (a `python -c` helper among them) lost its working directory on sys.path."""
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    sandbox.warm()
    assert "PYTHONSAFEPATH" not in os.environ
    monkeypatch.setenv("PYTHONSAFEPATH", "")  # a value of the caller's own is kept too
    sandbox.close()
    sandbox.warm()
    assert os.environ["PYTHONSAFEPATH"] == ""


class _Killed(BaseException):
    """The service killed while its worker reads: nothing in the service catches it, as nothing outlives
    a SIGKILL; the database holds what the kill left."""


@dataclass
class _KilledWhileReading:
    """A reader whose service is killed during its first `kills` reads, then reads in place."""

    kills: int
    reads: int = 0

    def read(self, raw: bytes, config: IntakeConfig) -> Read:
        self.reads += 1
        if self.reads <= self.kills:
            raise _Killed
        return read_here(raw, config)


def test_a_service_killed_while_the_worker_reads_does_not_count_it_against_the_message(
    sqlite_engine: Engine,
) -> None:
    """Killed three times while one message was read, a restarted service once quarantined it as poison
    (and the soak saw intake stop): an interrupted read in the worker is not the message's doing."""
    reader = _KilledWhileReading(kills=3)
    config = replace(CONFIG, sandbox=reader)
    raw = roster_mail(SD, SD_UNITS)
    with pytest.raises(_Killed):
        take(sqlite_engine, raw, "mail.eml", config, LATER)  # stored, then killed
    for _ in range(2):
        with pytest.raises(_Killed):
            resume(sqlite_engine, config, LATER)  # restarted, killed again while reading

    [outcome] = resume(sqlite_engine, config, LATER)

    assert (outcome.outcome, outcome.rows_applied) == ("applied", len(SD_UNITS))
    # the attempt counted when it was stored, and the one that applied it: no interrupted read
    assert inbox.get(sqlite_engine, outcome.message_pk or 0).attempts == 2  # type: ignore[union-attr]


def _niceness() -> int:
    return os.nice(0)


def test_the_worker_yields_the_cpu_to_the_service(sandbox: Sandbox) -> None:
    """On a busy machine, chat answers come before reading a stranger's heavy mail."""
    assert sandbox.call(_niceness) == min(os.nice(0) + sandbox.niceness, 19)


def test_the_worker_collects_its_young_objects_seldom(sandbox: Sandbox) -> None:
    """The rows the worker keeps are scanned by every collection: at the default it spent a tenth of its
    time in the collector."""
    young, *older = sandbox.call(gc.get_threshold)
    assert young == YOUNG_OBJECTS > gc.get_threshold()[0]
    assert older == list(gc.get_threshold()[1:])


# ---- messages in the worker's queue -----------------------------------------------------------------


def _stalled(seconds: float, raw: bytes) -> bytes:
    return STALL + str(seconds).encode() + b"\r\n" + raw


def _batch(*raws: bytes) -> list[tuple[bytes, str]]:
    return [(raw, f"{n}.eml") for n, raw in enumerate(raws, 1)]


def _taken_in_a_batch(engine: Engine, wall_s: float, *raws: bytes) -> list[Outcome]:
    """The messages taken together, read by the test reader in a worker of its own with this time limit."""
    box = Sandbox(memory_bytes=250 * MiB, wall_s=wall_s, reads_with=stalling_read)
    box.call(warm_reader)  # the worker started, the test reader imported: the clock is the messages' alone
    try:
        return list(take_all(engine, _batch(*raws), replace(CONFIG, sandbox=box), lambda: LATER))
    finally:
        box.close()


def test_the_worker_loads_no_database_driver() -> None:
    """What the worker preloads leaves PostgreSQL's driver out: its libraries took the address space the
    worker's memory limit allows, and a library that starts threads could no longer start them."""
    script = "import sys, mail.intake; print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg'))"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_collector_is_paused_while_an_answer_is_unpickled_and_on_again_after(sandbox: Sandbox) -> None:
    assert gc.isenabled()
    assert sandbox.call(collector_probe) is False
    assert gc.isenabled()


def test_the_worker_is_handed_no_more_messages_and_bytes_than_it_may_hold() -> None:
    """Up to `depth` messages wait in the worker, fewer when their bytes pass `held_bytes`: the oldest is
    waited for before the next is handed over. Each is read, in order, whatever waited."""
    mails = [roster_mail(SD, SD_UNITS[:n], f"2021-10-26T1{n}:00") for n in (1, 2, 3, 1, 2, 3, 1)]
    box = Sandbox(memory_bytes=250 * MiB, wall_s=300, depth=3, held_bytes=2 * max(map(len, mails)))
    held: list[tuple[int, int]] = []
    try:
        readings = []
        for mail in mails:
            readings.append(box.submit(mail, CONFIG))
            held.append((len(box._in_flight), sum(r.size for r in box._in_flight)))
        read = [r.result() for r in readings]
    finally:
        box.close()
    assert max(count for count, _ in held) == 2  # their bytes, not the depth, allow two
    assert all(size <= box.held_bytes for _, size in held)
    assert [len(r.parsed[0].records) for r in read] == [1, 2, 3, 1, 2, 3, 1]


def test_a_message_larger_than_the_bytes_the_worker_may_hold_is_handed_over_alone() -> None:
    mails = [roster_mail(SD, SD_UNITS[:1]), roster_mail(SD, SD_UNITS, "2021-10-26T11:00")]
    box = Sandbox(memory_bytes=250 * MiB, wall_s=300, held_bytes=len(mails[0]) + 1)
    try:
        first = box.submit(mails[0], CONFIG)
        second = box.submit(mails[1], CONFIG)
        assert list(box._in_flight) == [second]
        assert [len(first.result().parsed[0].records), len(second.result().parsed[0].records)] == [1, 3]
    finally:
        box.close()


def test_a_message_waiting_behind_a_slow_one_has_its_whole_time_to_be_read(sqlite_engine: Engine) -> None:
    """Two messages handed over at once: the second's time limit counts from when the worker took it, not
    from when it was handed over (6 s after it was handed over, 3 s after the worker took it)."""
    first = _stalled(3, roster_mail(SD, SD_UNITS))
    second = _stalled(3, roster_mail(SD, SD_UNITS[:2], "2021-10-26T10:00"))

    outcomes = _taken_in_a_batch(sqlite_engine, 5, first, second)

    assert [o.outcome for o in outcomes] == ["applied", "applied"]


def test_a_message_read_too_long_is_quarantined_and_the_one_waiting_behind_it_is_read_again(
    sqlite_engine: Engine,
) -> None:
    stuck = _stalled(600, roster_mail(SD, SD_UNITS))
    waiting = roster_mail(SD, SD_UNITS[:2], "2021-10-26T10:00")

    outcomes = _taken_in_a_batch(sqlite_engine, 2, stuck, waiting)

    assert [o.outcome for o in outcomes] == ["quarantined", "applied"]
    assert "读取邮件超过 2 秒" in (outcomes[0].reason or "")
    stored = [inbox.get(sqlite_engine, o.message_pk or 0) for o in outcomes]
    assert [m.attempts for m in stored if m is not None] == [1, 1]


def test_a_worker_that_dies_reading_a_message_quarantines_it_and_the_next_ones_apply(
    sqlite_engine: Engine,
) -> None:
    """A library that crashes the worker (or the kernel killing it) is answered at once, with the reason,
    not after the whole time limit."""
    deadly = END + roster_mail(SD, SD_UNITS)
    later = roster_mail(SD, SD_UNITS[:2], "2021-10-26T10:00")

    outcomes = _taken_in_a_batch(sqlite_engine, 300, deadly, later)

    assert [o.outcome for o in outcomes] == ["quarantined", "applied"]
    assert "读取进程意外退出" in (outcomes[0].reason or "")
    assert "quarantine show" in (outcomes[0].reason or ""), "what the administrator can do"
