"""Untrusted mail is read in a worker process, under a memory limit (RLIMIT_AS) and a wall-time limit.

Reading a message (MIME, spreadsheets, HTML) runs library code on bytes anyone may send. In a worker
process it cannot hold the service's interpreter lock, so chat, scheduler and sender keep answering
while it works; a message that needs more memory or time than its limit is stopped, and the caller
quarantines it with the reason, once: it is stored before it is read, so it is never fetched again.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing.pool import ApplyResult, Pool
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mail.intake import IntakeConfig, Read

MiB = 1024 * 1024


@contextmanager
def _safe_path() -> Iterator[None]:
    """The fork server starts as `python -c …`, which puts the working directory first on sys.path
    (Python 3.11 does not apply the parent's path there): a folder named like one of our packages — a
    mail folder called "mail" — would be imported instead of it. Only the fork server, started with the
    pool, gets PYTHONSAFEPATH: the service's own environment, which its other programs inherit, is left
    as it was."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before


def _confine(memory_bytes: int, niceness: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.nice(niceness)


def _read(raw: bytes, config: IntakeConfig) -> Read:
    from mail.intake import EMITTER_KINDS, read_here

    read = read_here(raw, config)
    if read.parsed[0].kind not in EMITTER_KINDS:
        # a table of data is applied from its records and its envelope: its files, two thirds of what
        # would cross back, stay here (an emitter's screenshot is filed from its attachment: it crosses)
        bare = replace(read.walked, attachments=(), html_bodies=(), text_body="")
        return replace(read, walked=bare)
    return read


def _import_readers() -> None:
    import mail.intake  # noqa: F401  (the import is the work: MIME, spreadsheet and HTML readers)


class Reading:
    """A message handed to the worker; `result()` waits for it within the wall-time limit, counted from
    when the worker took it, and turns a timeout or an exhausted memory into Refused."""

    def __init__(self, sandbox: Sandbox, pending: ApplyResult[Read]) -> None:
        self._sandbox, self._pending = sandbox, pending
        self._deadline = time.monotonic() + sandbox.wall_s
        self._value: Read | None = None
        self._error: Exception | None = None
        self._settled = False

    def result(self) -> Read:
        with self._sandbox._lock:
            self._settle()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    def _settle(self) -> None:
        """Wait for the worker (the sandbox's lock held): once, whoever asks first."""
        if self._settled:
            return
        from mail.intake import Refused

        sandbox = self._sandbox
        try:
            self._value = self._pending.get(max(0.0, self._deadline - time.monotonic()))
        except multiprocessing.TimeoutError:
            sandbox._stop()
            self._error = _refused(Refused(f"读取邮件超过 {sandbox.wall_s:g} 秒，已停止并隔离"))
        except MemoryError:
            sandbox._stop()  # a worker that ran out of memory is not trusted with the next message
            reason = f"读取邮件所需内存超过 {sandbox.memory_bytes // MiB} MB，已停止并隔离"
            self._error = _refused(Refused(reason))
        except Exception as error:  # raised by the reading (Refused among them): the caller's to judge
            self._error = error
        self._settled = True
        if sandbox._in_flight is self:
            sandbox._in_flight = None


def _refused(error: Exception) -> Exception:
    error.__suppress_context__ = True  # the worker's timeout or MemoryError is the reason, said in it
    return error


@dataclass
class Sandbox:
    memory_bytes: int = 2048 * MiB
    wall_s: float = 120.0
    # on a busy machine the service's chat, scheduler and sender come before reading mail: a stranger's
    # message, however heavy, then slows intake alone
    niceness: int = 10
    # forkserver: a child forked from the running service would inherit its threads' locks
    method: str = "forkserver"
    _pool: Pool | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _in_flight: Reading | None = field(default=None, init=False, repr=False)

    def read(self, raw: bytes, config: IntakeConfig) -> Read:
        return self.submit(raw, config).result()

    def submit(self, raw: bytes, config: IntakeConfig) -> Reading:
        """Hand the message to the worker and return at once, so that the caller can apply the last one
        meanwhile. One message at a time in the worker, so that its memory stays bounded: the reading
        still in flight is waited for first (its outcome kept for its own `result()`)."""
        with self._lock:
            if self._in_flight is not None:
                self._in_flight._settle()
            pool = self._started()
            pending = pool.apply_async(_read, (raw, replace(config, sandbox=None, notify=None)))
            self._in_flight = Reading(self, pending)
            return self._in_flight

    def warm(self) -> None:
        """Start the worker and let it import the readers now, while the service starts, so that the
        first message does not wait for them (a service restarted after a crash reads on at once)."""
        with self._lock:
            if self._in_flight is not None:
                self._in_flight._settle()
            self._started().apply(_import_readers)

    def cpu_seconds(self) -> float:
        """The worker's CPU time so far (a benchmark's: on a shared machine it moves less than wall time)."""
        with self._lock:
            if self._in_flight is not None:
                self._in_flight._settle()
            return float(self._started().apply(time.process_time))

    def _started(self) -> Pool:
        if self._pool is None:
            context = multiprocessing.get_context(self.method)
            if self.method == "forkserver":
                # each worker forked later (after a timeout or an exhausted memory) starts with them loaded
                context.set_forkserver_preload(["mail.intake"])
            with _safe_path():
                self._pool = context.Pool(
                    1, initializer=_confine, initargs=(self.memory_bytes, self.niceness)
                )
        return self._pool

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        with self._lock:
            if self._in_flight is not None:  # abandoned: its message stays unfinished, for `resume`
                self._in_flight._settled, self._in_flight._error = True, RuntimeError("sandbox closed")
                self._in_flight = None
            self._stop()
