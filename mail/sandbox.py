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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing.pool import Pool
from typing import TYPE_CHECKING

from mail.records import ParsedTable

if TYPE_CHECKING:
    from mail.intake import IntakeConfig
    from mail.mime import Walked

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


def _limit_memory(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _read(raw: bytes, config: IntakeConfig) -> tuple[Walked, list[ParsedTable]]:
    from mail.intake import read_here

    return read_here(raw, config)


def _import_readers() -> None:
    import mail.intake  # noqa: F401  (the import is the work: MIME, spreadsheet and HTML readers)


@dataclass
class Sandbox:
    memory_bytes: int = 2048 * MiB
    wall_s: float = 120.0
    # forkserver: a child forked from the running service would inherit its threads' locks
    method: str = "forkserver"
    _pool: Pool | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def read(self, raw: bytes, config: IntakeConfig) -> tuple[Walked, list[ParsedTable]]:
        from mail.intake import Refused

        with self._lock:  # one message at a time, as intake takes them
            pool = self._started()
            pending = pool.apply_async(_read, (raw, replace(config, sandbox=None, notify=None)))
            try:
                return pending.get(self.wall_s)
            except multiprocessing.TimeoutError:
                self._stop()
                raise Refused(f"读取邮件超过 {self.wall_s:g} 秒，已停止并隔离") from None
            except MemoryError:
                self._stop()  # a worker that ran out of memory is not trusted with the next message
                raise Refused(f"读取邮件所需内存超过 {self.memory_bytes // MiB} MB，已停止并隔离") from None

    def warm(self) -> None:
        """Start the worker and let it import the readers now, while the service starts, so that the
        first message does not wait for them (a service restarted after a crash reads on at once)."""
        with self._lock:
            self._started().apply(_import_readers)

    def _started(self) -> Pool:
        if self._pool is None:
            context = multiprocessing.get_context(self.method)
            if self.method == "forkserver":
                # each worker forked later (after a timeout or an exhausted memory) starts with them loaded
                context.set_forkserver_preload(["mail.intake"])
            with _safe_path():
                self._pool = context.Pool(1, initializer=_limit_memory, initargs=(self.memory_bytes,))
        return self._pool

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        with self._lock:
            self._stop()
