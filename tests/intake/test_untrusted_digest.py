"""A flood of forged mail does not flood the officers: the first of an hour is told at once, the rest
of that hour in one digest when the hour ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mail import intake
from mail.intake import Outcome
from storage import access, outbox
from tests.intake.world import CONFIG, SD_UNITS, at, roster_mail
from tests.told import notifying

TOLD = notifying(CONFIG)

OFFICERS = (701, 702, 703)
START = at("2021-10-25T15:00")


def take(engine: Engine, raw: bytes, now: datetime) -> Outcome:
    return intake.take(engine, raw, "mail.eml", TOLD, now)


def _forged(n: int) -> bytes:
    return roster_mail(f"forger{n}@evil.example", SD_UNITS, f"2021-10-25T15:{n % 60:02d}")


def test_two_hundred_forged_messages_make_two_alerts_an_officer(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session, session.begin():
        for chat in OFFICERS:
            access.bind(session, chat, "officer", START, province="山东省")
    for n in range(200):
        now = START + timedelta(seconds=10 * n)  # all within the hour 15:00–16:00
        outcome = take(sqlite_engine, _forged(n), now)
        assert outcome.outcome == "quarantined"
    items = outbox.items(sqlite_engine)
    assert len(items) == 2 * len(OFFICERS)
    digests = [i for i in items if i.kind == "untrusted_digest"]
    assert len(digests) == len(OFFICERS)
    assert all("又有 199 封" in d.body and "另有 179 封未列出" in d.body for d in digests)
    assert all(d.next_attempt_at == at("2021-10-25T16:00") for d in digests)
    take(sqlite_engine, _forged(300), at("2021-10-25T16:30"))
    assert len(outbox.items(sqlite_engine)) == 3 * len(OFFICERS)  # a new hour: told at once again
