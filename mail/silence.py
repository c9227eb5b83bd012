"""Mail that stops arriving is a failure nobody sees: during the cycle, officers are told.

From the opening of the application window to the compliance deadline, provinces and NCSC write
every few days; no mail for `silence_alert_h` hours then means a broken mailbox, a changed password or
a full quota more likely than quiet. One alert per officer chat per day, until mail arrives again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlmodel import Session, func, select

from mail import imap_cursor
from storage.models import ChatBinding, InboundMessage
from storage.outbox import NewItem, enqueue
from templates import render

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


def enqueue_silence_alerts(
    session: Session,
    now: datetime,
    *,
    window_opens: datetime,
    compliance_deadline: datetime,
    silence_alert_h: float = DEFAULT_SILENCE_H,
    tz: tzinfo | None = None,
) -> int:
    """Write today's alert for every officer chat when intake has been silent too long; returns how many."""
    last = last_arrival(session)
    began = silent_since(now, last, window_opens, compliance_deadline, silence_alert_h)
    if began is None:
        return 0
    local = now.astimezone(tz or now.tzinfo)
    day = local.date().isoformat()
    chats = session.exec(
        select(ChatBinding).where(ChatBinding.role == "officer", ChatBinding.platform == "telegram")
    ).all()
    items = [
        NewItem(
            key=f"officer|telegram:{chat.chat_id}|intake_silent|{day}",
            audience="officer",
            channel="telegram",
            recipient=str(chat.chat_id),
            kind="intake_silent",
            body=render(
                "officer_mail_silent",
                chat.lang,
                hours=_whole_hours(local - began.astimezone(local.tzinfo)),
                last=None if last is None else last.astimezone(local.tzinfo),
            ),
        )
        for chat in chats
    ]
    return enqueue(session, items, now)


def _whole_hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)
