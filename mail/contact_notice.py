"""The old contact address hears that a roster changed it: a forged roster cannot move a unit's mail
to another mailbox unseen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from storage.contacts import Change, record
from storage.outbox import NewItem, enqueue
from templates import render


def announce_changes(
    session: Session,
    changes: Sequence[Change],
    message_pk: int,
    known_at: datetime,
    wait: timedelta,
    now: datetime,
    lang: str = "zh",
) -> None:
    if not changes:
        return
    record(session, changes, message_pk, known_at, wait)
    enqueue(session, [_notice(c, message_pk, known_at + wait, lang) for c in changes], now)


def _notice(change: Change, message_pk: int, usable_from: datetime, lang: str) -> NewItem:
    text = render(
        "contact_changed",
        lang,
        name=change.name,
        code=change.code,
        old=change.old_address,
        new=change.new_address,
        usable_from=usable_from,
    )
    subject, _, body = text.partition("\n")
    return NewItem(
        key=f"emitter|email:{change.old_address.lower()}|contact_changed|{change.code}|{message_pk}",
        audience="emitter",
        channel="email",
        recipient=change.old_address,
        kind="contact_changed",
        body=body.strip() + "\n",
        subject=subject.strip(),
    )
