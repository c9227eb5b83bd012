"""Untrusted mail is read in a worker process, under a memory limit (RLIMIT_AS) and a wall-time limit.

Reading a message (MIME, spreadsheets, HTML) runs library code on bytes anyone may send. In a worker
process it cannot hold the service's interpreter lock, so chat, scheduler and sender keep answering
while it works; a message that needs more memory or time than its limit is stopped, and the caller
quarantines it with the reason, once: it is stored before it is read, so it is never fetched again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from mail.worker_process import NoAnswer, WorkerDied, WorkerProcess

if TYPE_CHECKING:
    from mail.intake import IntakeConfig, Read

MiB = 1024 * 1024
T = TypeVar("T")


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

    def __init__(self, sandbox: Sandbox, worker: WorkerProcess, size: int) -> None:
        self._sandbox, self._worker, self.size = sandbox, worker, size
        self._submitted = time.monotonic()
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
        """Wait for the worker (the sandbox's lock held): once, whoever asks first. The worker reads in
        the order given: the messages handed over before this one are waited for first, and this one's
        time counts from the later of its handing over and their end."""
        if self._settled:
            return
        sandbox = self._sandbox
        while sandbox._in_flight and sandbox._in_flight[0] is not self:
            sandbox._in_flight[0]._settle()
        if self._settled:  # its worker was stopped while one before it was read
            return
        deadline = max(self._submitted, sandbox._last_settled) + sandbox.wall_s
        self._wait(deadline)
        self._settled = True
        sandbox._last_settled = time.monotonic()
        if sandbox._in_flight and sandbox._in_flight[0] is self:
            sandbox._in_flight.popleft()

    def _wait(self, deadline: float) -> None:
        from mail.intake import Refused

        sandbox = self._sandbox
        try:
            self._value = self._worker.answer(deadline - time.monotonic())
        except NoAnswer:
            sandbox._stop()
            self._error = _refused(Refused(f"读取邮件超过 {sandbox.wall_s:g} 秒，已停止并隔离{_WHAT_NEXT}"))
        except MemoryError:
            sandbox._stop()  # a worker that ran out of memory is not trusted with the next message
            reason = f"读取邮件所需内存超过 {sandbox.memory_bytes // MiB} MB，已停止并隔离{_WHAT_NEXT}"
            self._error = _refused(Refused(reason))
        except WorkerDied as died:  # killed by what it read (a crashed library, the kernel's OOM killer)
            sandbox._stop()
            self._error = _refused(Refused(f"{died}，已停止并隔离{_WHAT_NEXT}"))
        except Exception as error:  # raised by the reading (Refused among them): the caller's to judge
            self._error = error

    def _abandon(self, why: str) -> None:
        """Its worker is gone before it was read: the caller reads it again (mail.intake.process)."""
        if not self._settled:
            self._settled, self._error = True, WorkerStopped(why)


# The reason is read by the sender (in its receipt) and by the officers: neither can mend the reading,
# but the sender can export the table again, and the administrator can look at the message and read it
# again once the limits (read_timeout_s, read_memory_mb) or the software are changed.
_WHAT_NEXT = (
    "。附件可能已损坏或格式异常：请重新导出表格后再发送一次；仍然如此时，"
    "请管理员用 ccerbot quarantine show 查看这封邮件，处理后用 quarantine retry 重新读取"
)


class WorkerStopped(RuntimeError):
    """The worker was stopped, for another message or at close, before it read this one."""


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
    # messages handed to the worker and not yet waited for, and their bytes: the worker goes on to the
    # next ones while the service applies the last, so that neither waits for the other's slow message
    # (a roster applied, a large sheet read); at two, each waited a third of the time for the other
    depth: int = 8
    held_bytes: int = 16 * MiB
    # what the worker runs on each message (a test's reader may stall or end the worker first)
    reads_with: Callable[[bytes, IntakeConfig], Read] = _read
    _worker: WorkerProcess | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _in_flight: deque[Reading] = field(default_factory=deque, init=False, repr=False)
    _last_settled: float = field(default=0.0, init=False, repr=False)

    def read(self, raw: bytes, config: IntakeConfig) -> Read:
        return self.submit(raw, config).result()

    def submit(self, raw: bytes, config: IntakeConfig) -> Reading:
        """Hand the message to the worker and return at once, so that the caller can apply the last one
        meanwhile. At most `depth` messages and `held_bytes` of them (or one larger message) are handed
        over at once, so that memory stays bounded: the oldest is waited for first (its outcome kept for
        its own `result()`)."""
        with self._lock:
            while self._in_flight and not self.takes(len(self._in_flight), self._held() + len(raw)):
                self._in_flight[0]._settle()
            worker = self._started()
            worker.send(self.reads_with, raw, replace(config, sandbox=None, notify=None))
            self._in_flight.append(Reading(self, worker, len(raw)))
            return self._in_flight[-1]

    def takes(self, messages: int, size: int) -> bool:
        """Whether one more message fits beside `messages` others, with `size` bytes held in all."""
        return messages < self.depth and size <= self.held_bytes

    def _held(self) -> int:
        return sum(reading.size for reading in self._in_flight)

    def warm(self) -> None:
        """Start the worker and let it import the readers now, while the service starts, so that the
        first message does not wait for them (a service restarted after a crash reads on at once)."""
        self.call(_import_readers)

    def cpu_seconds(self) -> float:
        """The worker's CPU time so far (a benchmark's: on a shared machine it moves less than wall time)."""
        return float(self.call(time.process_time))

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` in the worker, once the messages handed over before are read."""
        with self._lock:
            while self._in_flight:
                self._in_flight[0]._settle()
            worker = self._started()
            worker.send(function)
            try:
                answer: T = worker.answer(self.wall_s)
            except (NoAnswer, WorkerDied):
                self._stop()
                raise
            return answer

    def _started(self) -> WorkerProcess:
        if self._worker is None:
            self._worker = WorkerProcess(self.method, self.memory_bytes, self.niceness, ["mail.intake"])
        return self._worker

    def _stop(self, why: str = "读取进程因另一封邮件被停止") -> None:
        """Stop the worker; the messages still waiting in it are abandoned, to be read again."""
        while self._in_flight:
            self._in_flight.popleft()._abandon(why)
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def close(self) -> None:
        with self._lock:
            self._stop("sandbox closed")  # what was in flight stays unfinished, for `resume`
