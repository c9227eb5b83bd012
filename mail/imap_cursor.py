"""Where the intake stands in one IMAP folder: its UIDVALIDITY and the last UID taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.engine import session_scope
from storage.models import ImapCursor


@dataclass(frozen=True)
class Position:
    uidvalidity: int
    last_uid: int


def _find(session: Session, mailbox: str) -> ImapCursor | None:
    return session.exec(select(ImapCursor).where(ImapCursor.mailbox == mailbox)).first()


def load(engine: Engine, mailbox: str) -> Position | None:
    with session_scope(engine) as session:
        found = _find(session, mailbox)
        return None if found is None else Position(found.uidvalidity, found.last_uid)


def reset(engine: Engine, mailbox: str, uidvalidity: int, last_uid: int) -> Position:
    """Start (or start again) at last_uid under this UIDVALIDITY."""
    with session_scope(engine) as session:
        found = _find(session, mailbox) or ImapCursor(mailbox=mailbox, uidvalidity=uidvalidity)
        found.uidvalidity, found.last_uid = uidvalidity, last_uid
        session.add(found)
    return Position(uidvalidity, last_uid)


def advance(engine: Engine, mailbox: str, uidvalidity: int, uid: int, now: datetime | None) -> None:
    """Record that `uid` is done; `now` when a message was actually taken (None: it had vanished)."""
    with session_scope(engine) as session:
        found = _find(session, mailbox) or ImapCursor(mailbox=mailbox, uidvalidity=uidvalidity)
        if found.uidvalidity == uidvalidity and uid > found.last_uid:
            found.last_uid = uid
        if now is not None:
            found.last_mail_at = now
        session.add(found)


def last_mail_at(session: Session) -> datetime | None:
    """When mail last arrived through any IMAP folder."""
    stamps = [c.last_mail_at for c in session.exec(select(ImapCursor)) if c.last_mail_at is not None]
    return max(stamps, default=None)
