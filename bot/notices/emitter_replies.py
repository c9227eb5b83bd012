"""Answers to what an emitter asks by mail: its status (查询 / 状态 in the subject) in the chat's words, and
that its stamped screenshot was filed. Only the unit's contact address on file is answered, a few times a
day at most; anyone else hears nothing, whether or not the unit exists (no oracle)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.chat.base import time_left
from bot.chat.reply import plain_text
from bot.config import Settings
from bot.notices.compose import item, recent
from bot.notices.keys import OutboxKey
from bot.reports import report_of
from compliance.cycle import Cycle, current_cycle, load_cycle, with_overrides
from mail.intake import Told
from storage import contacts, state
from storage.models import InboundMessage, Unit
from storage.outbox import NewItem
from templates import render

STATUS = "status_reply"
SCREENSHOT = "screenshot_received"
REPLIES_PER_ADDRESS_PER_DAY = 3  # a loop of auto-replies or a curious script cannot flood the mailbox


def answer(
    session: Session, settings: Settings, message: InboundMessage, told: Told, now: datetime
) -> list[NewItem]:
    address = (message.sender or "").strip().lower()
    if told.automatic or not address:
        return []
    kind = STATUS if told.status_query else SCREENSHOT
    units = contacts.units_at(session, address, now)
    if kind == SCREENSHOT:
        units = [u for u in units if u.id in told.screenshots]
    if not units or not _may_reply(session, address, kind, now):
        return []
    lang = settings.lang
    if kind == STATUS:
        cycle = _cycle(settings, now)
        statuses = [_status_text(session, unit, cycle, lang, now) for unit in units]
        body = render("emitter_status_reply", lang, statuses=statuses, now=now)
    else:
        body = render("emitter_screenshot", lang, units=units, now=now)
    key = OutboxKey("emitter", "email", address, kind, (str(message.id),))
    return [item(key, body + "\n", f"Re: {' '.join(message.subject.split())}"[:200])]


def _may_reply(session: Session, address: str, kind: str, now: datetime) -> bool:
    pattern = OutboxKey("emitter", "email", address, kind).like_pattern()
    return recent(session, pattern, now, timedelta(days=1)) < REPLIES_PER_ADDRESS_PER_DAY


def _cycle(settings: Settings, now: datetime) -> Cycle:
    name = settings.cycle or current_cycle(now).name
    return with_overrides(load_cycle(name), settings.cycle_overrides.get(name, {}))


def _status_text(session: Session, unit: Unit, cycle: Cycle, lang: str, now: datetime) -> str:
    """The chat's status view (bot/chat/emitter.py), word for word, as plain text."""
    rows = state.facts_at(session, now, codes=[unit.code])
    if not rows:
        text = render("chat_status", lang, html_mode=True, now=now, cycle=cycle, r=None, s=None, left=None,
                      officer=False)  # fmt: skip
        return plain_text(text)
    known, facts = rows[0]
    report = report_of(facts, known.contact_email, cycle, now)
    s = report.status
    text = render("chat_status", lang, html_mode=True, now=now, cycle=cycle, r=report, s=s,
                  left=time_left(s.next_deadline, now), officer=False)  # fmt: skip
    return plain_text(text)
