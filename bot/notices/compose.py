"""A notice's words for one recipient, and the one call that writes notices into the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from bot.notices.keys import OutboxKey
from bot.notices.recipients import Recipient
from compliance.kinds import ALL_KINDS
from storage import outbox
from storage.models import OutboxItem
from templates import render

Renderer = Callable[[str, bool], str]  # (lang, html) -> text
HTML_CHANNELS = frozenset({"telegram"})  # the others take plain text (the group digest adds a heading)


def key_for(audience: str, to: Recipient, kind: str, *about: str) -> OutboxKey:
    return OutboxKey(audience, to.channel, to.address, kind, about)


def item(key: OutboxKey, body: str, subject: str = "") -> outbox.NewItem:
    return outbox.NewItem(str(key), key.audience, key.channel, key.recipient, key.kind, body, subject)


def compose(key: OutboxKey, lang: str, about: str, text: Renderer) -> outbox.NewItem:
    """HTML for Telegram, plain text for robots and chat platforms, a subject and a body for email.

    `about` ends an email's subject: the unit's name, or the province.
    """
    if key.channel != "email":
        return item(key, text(lang, key.channel in HTML_CHANNELS))
    subject = render(
        "email_subject", lang, audience=key.audience, kind=key.kind, target=about, reminder_kinds=ALL_KINDS
    )
    return item(key, render("email_body", lang, audience=key.audience, text=text(lang, False)), subject)


def write(session: Session, items: Sequence[outbox.NewItem], now: datetime) -> int:
    """Into the outbox, each key once; how many were new."""
    return outbox.enqueue(session, items, now)


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    present: set[str] = set()
    for start in range(0, len(wanted), 500):  # keep each IN list short
        chunk = wanted[start : start + 500]
        present.update(session.exec(select(OutboxItem.key).where(col(OutboxItem.key).in_(chunk))))
    return present


def recent(session: Session, pattern: str, now: datetime, within: timedelta) -> int:
    """How many notices whose key matches the LIKE pattern were written within the time before now: the
    outbox is the ledger that caps what one address may be sent."""
    query = (
        select(func.count())
        .select_from(OutboxItem)
        .where(col(OutboxItem.key).like(pattern), OutboxItem.created_at > now - within)
    )
    return int(session.exec(query).one())
