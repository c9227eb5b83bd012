"""Pausing Python's cyclic garbage collector while a message's objects are made and kept.

Applying a roster, or unpickling what the reading worker read of it, makes hundreds of thousands of
objects that all live until the message is done. The collector runs a pass every 700 new objects and,
as they pile up, passes over the whole heap: in the service those passes found nothing to free and were
a fifth to a quarter of intake's CPU time. Reference counting frees everything else meanwhile; a
garbage cycle made while paused waits for the next pass after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # pauses under way, in any thread: the collector is on again when the last one ends
_was_enabled = True


@contextmanager
def paused() -> Iterator[None]:
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
