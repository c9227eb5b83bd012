"""An officer's lists: units with anomalies, unmatched cancellation records, quarantined mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from bot.chat import keyboards
from bot.chat.base import Query, as_page, officers_only, page_of, say
from bot.chat.officer import PAGE, menu, no_data, province_or_none, quarantined_by
from bot.chat.reply import Reply
from bot.chat.scope import NATIONAL, scoped
from storage.engine import session_scope
from storage.models import InboundMessage


@dataclass(frozen=True)
class Kept:
    """A quarantined message as an officer sees it (never its raw bytes)."""

    id: int
    received_at: datetime
    sender: str | None
    subject: str
    reason: str | None
    sent_at: datetime | None = None

    @property
    def at(self) -> datetime:
        """When it came, on the clock of the cycle's mail: its Date, unless it claims to come later than
        it did (so that a replay of a past day shows the mail of that day, when it came)."""
        return self.received_at if self.sent_at is None else min(self.sent_at, self.received_at)


@scoped("anomalies")
def anomalies(q: Query, province: str) -> Reply:
    report = province_or_none(q, province)
    if report is None:
        return no_data(q, province)
    flagged = [u for u in report.units if u.status.officer_alerts]
    shown, page, pages = page_of(flagged, as_page(q.args[0] if q.args else None), PAGE)
    keyboard = keyboards.pager(q.lang, ["anomalies", province], page, pages) + menu(q, province)
    return say(
        "chat_anomalies",
        q,
        keyboard,
        province=province,
        units=shown,
        total=len(flagged),
        page=page,
        pages=pages,
    )


@scoped("unmatched")
def unmatched(q: Query, province: str) -> Reply:
    report = province_or_none(q, province)
    if report is None:
        return no_data(q, province)
    records = list(report.unmatched)
    shown, page, pages = page_of(records, as_page(q.args[0] if q.args else None), PAGE)
    keyboard = keyboards.pager(q.lang, ["unmatched", province], page, pages) + menu(q, province)
    return say(
        "chat_unmatched",
        q,
        keyboard,
        province=province,
        records=shown,
        total=len(records),
        page=page,
        pages=pages,
    )


def kept_messages(q: Query, province: str) -> list[Kept]:
    """Quarantined mail of the province; a national officer sees all, also mail of no known province."""
    query = select(
        col(InboundMessage.id),
        col(InboundMessage.received_at),
        col(InboundMessage.sender),
        col(InboundMessage.subject),
        col(InboundMessage.reason),
        col(InboundMessage.sent_at),
    )
    query = query.where(quarantined_by(q.now)).order_by(col(InboundMessage.id))
    if province != NATIONAL:
        query = query.where(col(InboundMessage.province) == province)
    with session_scope(q.engine) as session:
        return [Kept(*row) for row in session.execute(query)]


@officers_only
def quarantine(q: Query) -> Reply:
    assert q.identity is not None and q.identity.province
    province = q.identity.province
    kept = kept_messages(q, province)
    shown, page, pages = page_of(kept, as_page(q.args[0] if q.args else None), PAGE)
    keyboard = keyboards.pager(q.lang, ["quarantine"], page, pages)
    return say(
        "chat_quarantine",
        q,
        keyboard,
        province=province,
        messages=shown,
        total=len(kept),
        page=page,
        pages=pages,
    )
