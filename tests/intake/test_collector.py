"""The garbage collector is paused while a message is applied, and on again after, whatever the threads."""

from __future__ import annotations

import gc
import threading
from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mail import collector
from mail.intake import Told, take
from storage.models import InboundMessage
from tests.intake.world import CONFIG, LATER, SD, SD_UNITS, roster_mail


def test_applying_a_message_runs_with_the_collector_paused(sqlite_engine: Engine) -> None:
    seen: list[bool] = []

    def notify(_session: Session, _message: InboundMessage, _told: Told, _now: datetime) -> None:
        seen.append(gc.isenabled())  # called in the transaction that applies the message

    outcome = take(sqlite_engine, roster_mail(SD, SD_UNITS), "r.eml", replace(CONFIG, notify=notify), LATER)

    assert outcome.outcome == "applied"
    assert seen == [False]
    assert gc.isenabled()


def test_pauses_in_two_threads_end_with_the_collector_on_whichever_ends_first() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    inside: list[bool] = []

    def first() -> None:
        with collector.paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with collector.paused():
            second_in.set()
            first_out.wait(10)
            inside.append(gc.isenabled())  # the first pause has ended, this one has not

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert inside == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
