"""One worker process and the two pipes to it: calls go in, their answers come back in the same order.

The service's own thread writes each call and reads each answer: no helper thread in the service hands
them over (multiprocessing.Pool's three would take the interpreter lock from the service's thread at
every message). In the worker, a thread of its own takes the calls off the pipe as they come, so that
the service never waits to hand one over; the answers' pipe holds 1 MB, so that the worker seldom waits
for the service to take one.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import multiprocessing
import os
import queue
import resource
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from mail import collector

Call = tuple[Callable[..., Any], tuple[Any, ...]]
PIPE_BYTES = 1024 * 1024  # Linux's default ceiling for an unprivileged process (/proc/sys/fs/pipe-max-size)
# The worker keeps the rows it read before (mail.rows.readings: tens of thousands of objects), and every
# message allocates millions more that die young. At the interpreter's default (a young collection every
# 700 allocations) the collector's passes over them were a tenth of its CPU time; at 50,000 a
# fiftieth, and a message's garbage cycles are still freed within it.
YOUNG_OBJECTS = 50_000


class WorkerDied(RuntimeError):
    """The worker process ended without answering."""


class NoAnswer(TimeoutError):
    """No answer within the time given (a call's own TimeoutError comes back as itself)."""


@contextmanager
def _safe_path() -> Iterator[None]:
    """The fork server starts as `python -c …`, which puts the working directory first on sys.path
    (Python 3.11 does not apply the parent's path there): a folder named like one of our packages — a
    mail folder called "mail" — would be imported instead of it. Only the fork server, started with the
    first worker, gets PYTHONSAFEPATH: the service's own environment, which its other programs inherit,
    is left as it was."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before


class WorkerProcess:
    """Started at once; `send` a call, `answer` the oldest call not yet answered."""

    def __init__(self, method: str, memory_bytes: int, niceness: int, preload: list[str]) -> None:
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            # each worker forked later (after a timeout or an exhausted memory) starts with them loaded
            context.set_forkserver_preload(preload)
        calls_in, self._calls = context.Pipe(duplex=False)
        self._answers, answers_out = context.Pipe(duplex=False)
        self._process = context.Process(  # type: ignore[attr-defined]
            target=serve, args=(calls_in, answers_out, memory_bytes, niceness), daemon=True
        )
        with _safe_path():
            self._process.start()
        calls_in.close()
        answers_out.close()
        _widen(self._answers)
        _widen(self._calls)

    def send(self, function: Callable[..., Any], *args: Any) -> None:
        # a worker that ended on an earlier call has closed its end: `answer` says so, in the calls' order
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._calls.send((function, args))

    def answer(self, timeout: float) -> Any:
        """The oldest call's value, or what it raised; TimeoutError when it takes longer than `timeout`
        seconds (NoAnswer), WorkerDied when the process ended before answering."""
        if not self._answers.poll(max(0.0, timeout)):
            raise NoAnswer
        try:
            with collector.paused():  # what it makes lives on: a roster's thousands of records
                ok, value = self._answers.recv()
        except (EOFError, OSError) as error:
            raise WorkerDied(f"读取进程意外退出（退出码 {self._process.exitcode}）") from error
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        self._process.kill()
        self._process.join()
        self._calls.close()
        self._answers.close()


def serve(calls: Connection, answers: Connection, memory_bytes: int, niceness: int) -> None:
    """The worker's loop: each call in turn, answered (True, value) or (False, what it raised). An answer is
    written before the next call starts: a worker that a later call ends has still answered this one."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.nice(niceness)
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
    waiting: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
    threading.Thread(target=_take_calls, args=(calls, waiting), daemon=True).start()
    while (call := waiting.get()) is not None:
        function, args = call
        del call  # the message's bytes go with the call's arguments, once read
        try:
            answer: tuple[bool, Any] = (True, function(*args))
        except Exception as error:  # MemoryError among them: the service judges
            answer = (False, error)
        del args
        try:
            answers.send(answer)
        except Exception as error:  # an answer that cannot cross
            answers.send((False, RuntimeError(f"{type(error).__name__}: {error}")))


def _take_calls(calls: Connection, waiting: queue.SimpleQueue[Call | None]) -> None:
    try:
        while True:
            waiting.put(calls.recv())
    except BaseException:  # the service closed its end, or a call too large to take: the worker ends
        waiting.put(None)


def _widen(connection: Connection) -> None:
    """A pipe of 1 MB instead of 64 KB: the worker's answer waits in it while the service applies the
    last message, instead of the worker waiting to write it (Linux; elsewhere the pipe stays as it is)."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
