"""A binding code mailed to a unit's trusted address, within caps that keep any number of chats from
flooding one mailbox or one unit."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.notices.compose import item, recent, write
from bot.notices.keys import OutboxKey
from templates import render

KIND = "bind_code"
MAILS_PER_ADDRESS_PER_HOUR = 3  # so that many chats together cannot flood a unit's mailbox either
MAILS_PER_UNIT_PER_DAY = 5  # and a unit whose address changed cannot be mailed without end either


def may_mail(session: Session, address: str, code: str, now: datetime) -> bool:
    """Whether another code may go to this address about this unit now."""
    per_address = OutboxKey("emitter", "email", address.lower(), KIND).like_pattern()
    per_unit = OutboxKey("emitter", "email", "%", KIND, (code,)).like_pattern()
    return (
        recent(session, per_address, now, timedelta(hours=1)) < MAILS_PER_ADDRESS_PER_HOUR
        and recent(session, per_unit, now, timedelta(days=1)) < MAILS_PER_UNIT_PER_DAY
    )


def mail_code(
    session: Session,
    address: str,
    name: str,
    code: str,
    plain: str,
    expires: datetime,
    lang: str,
    now: datetime,
) -> None:
    text = render("chat_bindmail", lang, name=name, code=code, plain=plain, expires=expires)
    subject, _, body = text.partition("\n")
    digest = hashlib.sha256(plain.encode()).hexdigest()[:16]  # the key holds no usable code
    key = OutboxKey("emitter", "email", address.lower(), KIND, (code, digest))
    write(session, [item(key, body.strip() + "\n", subject.strip())], now)
