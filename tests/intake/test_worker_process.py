"""The worker process answers calls in order; one that ends answers every call after it with WorkerDied,
and a call handed to it once it has ended is not an error of its own."""

from __future__ import annotations

import pytest

from mail.worker_process import WorkerDied, WorkerProcess
from tests.intake.stalling import answer, end_worker


def test_calls_handed_to_a_worker_that_has_ended_are_answered_in_order() -> None:
    worker = WorkerProcess("forkserver", 512 * 1024 * 1024, 0, ["mail.intake"])
    try:
        worker.send(answer, 1)
        worker.send(end_worker)
        assert worker.answer(60) == 1
        with pytest.raises(WorkerDied):
            worker.answer(60)
        worker._process.join(60)  # it has ended: the next call finds its pipe closed
        worker.send(answer, 2)  # once raised BrokenPipeError in the caller (a batch stopped on it)
        with pytest.raises(WorkerDied):
            worker.answer(60)
    finally:
        worker.stop()
