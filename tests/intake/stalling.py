"""A reader for the worker that stalls or ends the worker where a message's first header asks: what a
library stuck on a message, or crashing on it, does. Its own module, light to import in the worker."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mail.sandbox import _read

if TYPE_CHECKING:
    from mail.intake import IntakeConfig, Read

STALL = b"X-Test-Stall: "  # seconds to sleep before reading the message
END = b"X-Test-End: worker\r\n"  # end the worker instead of reading the message


def stalling_read(raw: bytes, config: IntakeConfig) -> Read:
    if raw.startswith(END):
        os._exit(3)
    if raw.startswith(STALL):
        time.sleep(float(raw[len(STALL) :].split(b"\r\n", 1)[0]))
    return _read(raw, config)


def warm_reader() -> None:
    """Imported in the worker before the clock of any message starts."""


def end_worker() -> None:
    """Ends the worker process at once, as a crashing library would."""
    os._exit(3)


def answer(value: int) -> int:
    return value


class CollectorProbe:
    """Made in the worker; unpickled in the service into whether the collector was on meanwhile."""

    def __reduce__(self) -> tuple[Callable[[], bool], tuple[()]]:
        return gc.isenabled, ()


def collector_probe() -> CollectorProbe:
    return CollectorProbe()
