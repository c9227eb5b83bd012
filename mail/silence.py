"""Mail that stops arriving is a failure nobody sees: during the cycle, officers are told.

From the opening of the application window to the compliance deadline, provinces and NCSC write
every few days; no mail for `silence_alert_h` hours then means a broken mailbox, a changed password or
a full quota more likely than quiet. Officers hear of it once a day until mail arrives again
(bot.notices.silence).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, func, select

from mail import imap_cursor
from storage.models import InboundMessage

DEFAULT_SILENCE_H = 36.0


def last_arrival(session: Session) -> datetime | None:
    """The latest instant mail reached the bot, through IMAP or any other source."""
    stored = session.exec(select(func.max(InboundMessage.received_at))).one()
    stamps = [s for s in (stored, imap_cursor.last_mail_at(session)) if s is not None]
    return max(stamps, default=None)


def silent_since(
    now: datetime,
    last: datetime | None,
    window_opens: datetime,
    compliance_deadline: datetime,
    hours: float = DEFAULT_SILENCE_H,
) -> datetime | None:
    """The instant silence began, when it has lasted `hours` inside the window; None otherwise.

    Before the window opens nobody is expected to write, so silence counts from the opening at the earliest.
    """
    if not window_opens <= now <= compliance_deadline:
        return None
    began = window_opens if last is None or last < window_opens else last
    return began if now - began >= timedelta(hours=hours) else None
