"""An officer's lists: units with anomalies, unmatched cancellation records, quarantined mail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.chat import keyboards
from bot.chat.base import Keyboard, Query, as_page, officers_only, page_of, say
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
    return _listed(q, "anomalies", province, "units", flagged, ["anomalies", province], menu(q, province))


@scoped("unmatched")
def unmatched(q: Query, province: str) -> Reply:
    report = province_or_none(q, province)
    if report is None:
        return no_data(q, province)
    records = list(report.unmatched)
    return _listed(q, "unmatched", province, "records", records, ["unmatched", province], menu(q, province))


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
    return _listed(q, "quarantine", province, "messages", kept_messages(q, province), ["quarantine"])


def _listed(
    q: Query,
    name: str,
    province: str,
    key: str,
    items: Sequence[Any],
    pager: list[str],
    below: Keyboard = (),
) -> Reply:
    """The page the query asks for of the list `name` (templates/<lang>/chat_<name>.j2 shows it as
    `key`), with buttons to the other pages (`pager`: the command that turns them) and `below` them."""
    shown, page, pages = page_of(items, as_page(q.args[0] if q.args else None), PAGE)
    keyboard = keyboards.pager(q.lang, pager, page, pages) + below
    context = {key: shown, "total": len(items), "page": page, "pages": pages}
    return say(f"chat_{name}", q, keyboard, province=province, **context)
