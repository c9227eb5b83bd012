"""The scheduler: writes what is due into the outbox. It never sends; the sender delivers from the outbox.

Every write is idempotent: an item's key names its audience, recipient, kind, cycle and day (or, for
one-off alerts, the object it is about), and the outbox keeps one row per key. So a tick may run any number
of times, in any number of instances, and after any restart: PTB's JobQueue keeps nothing across restarts,
and needs to keep nothing, because the outbox is the ledger of what was written. At start-up the service
ticks once, which writes what is due today if its slot has passed and its key is absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import Settings
from bot.reminders import (
    Recipient,
    Reminder,
    compose,
    officer_chats,
    officer_emails,
    officer_recipients,
    outbox_items,
    outbox_key,
    reminders_at,
    target_of,
)
from bot.reports import UnitReport, unit_reports
from compliance.cycle import Cycle
from compliance.kinds import ALL_KINDS
from compliance.schedule import reminder_slot
from storage import outbox
from storage.engine import session_scope
from storage.models import InboundMessage, OutboxItem, Unit
from storage.units import find_unit
from templates import render

log = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery_failed"


@dataclass(frozen=True)
class Enqueued:
    reminders: list[Reminder]
    keys: list[str]  # every key due, new or not
    new: int  # how many of them were written now


def enqueue_due(
    engine: Engine, settings: Settings, cycle: Cycle, at: datetime, now: datetime | None = None
) -> Enqueued:
    """Write the reminders and alerts due at `at` (their day, once the slot has come).

    A reminder whose deadline has passed by `at` is left out: it would only arrive too late.
    """
    due = [
        r
        for r in reminders_at(engine, settings, cycle, at)
        if r.item.deadline is None or r.item.deadline > at
    ]
    items = [new for reminder in due for new in outbox_items(reminder, cycle.name)]
    with session_scope(engine) as session:
        written = outbox.enqueue(session, items, now or at)
    return Enqueued(due, [i.key for i in items], written)


def enqueue_new_anomalies(engine: Engine, settings: Settings, cycle: Cycle, now: datetime) -> int:
    """Alert the province's officers to each anomaly of each unit, and to each unit to chase, once (the key
    has no day)."""
    flagged = [r for r in unit_reports(engine, cycle, now) if r.status.officer_alerts]
    if not flagged:
        return 0
    with session_scope(engine) as session:
        wanted = [
            (outbox_key("officer", to, anomaly, cycle.name, report.code), report, anomaly, to)
            for report in flagged
            for anomaly in report.status.officer_alerts
            for to in officer_recipients(session, settings, report.province, anomaly)
        ]
        present = existing_keys(session, [key for key, *_ in wanted])
        items = [
            compose("officer", to, anomaly, report.province, _anomaly_text(report, anomaly, cycle), key)
            for key, report, anomaly, to in wanted
            if key not in present
        ]
        return outbox.enqueue(session, items, now)


def enqueue_delivery_failed(
    engine: Engine, settings: Settings, cycle: Cycle, failed: OutboxItem, reason: str, now: datetime
) -> list[str]:
    """Tell the officers concerned that an item could not be delivered, by their other channels if any.

    Returns the keys of the alerts (written now or before).
    """
    if failed.kind == DELIVERY_FAILED:
        log.error("could not tell officers of a failed delivery either: %s (%s)", failed.key, reason)
        return []
    target = target_of(failed.key)
    with session_scope(engine) as session:
        unit = find_unit(session, target)
        province = unit.province if unit else target if _is_province(session, settings, target) else None
        contacts = _other_channels(failed, _all_officer_contacts(session, settings, province or "*"))
        context = {
            "province": province,
            "code": unit.code if unit else None,
            "name": unit.name if unit else None,
            "audience": failed.audience,
            "kind": failed.kind,
            "channel": failed.channel,
            "recipient": failed.recipient,
            "reason": reason,
            "blocked": reason.startswith("RecipientBlocked"),
            "reminder_kinds": ALL_KINDS,
        }

        def text(lang: str, html: bool) -> str:
            return render("reminder_delivery_failed", lang, html_mode=html, html=html, **context)

        items = [
            compose(
                "officer", to, DELIVERY_FAILED, province or "", text, _failure_key(to, cycle, failed, target)
            )
            for to in contacts
        ]
        if not items:
            log.error("nobody to tell of failed delivery %s (%s)", failed.key, reason)
        outbox.enqueue(session, items, now)
        return [item.key for item in items]


def existing_keys(session: Any, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    present: set[str] = set()
    for start in range(0, len(wanted), 500):  # keep each IN list short
        chunk = wanted[start : start + 500]
        present.update(session.exec(select(OutboxItem.key).where(col(OutboxItem.key).in_(chunk))))
    return present


def mail_marker(engine: Engine) -> tuple[int, int]:
    """Changes whenever a message has been applied, by this process or any other."""
    with session_scope(engine) as session:
        query = select(func.count(), func.max(InboundMessage.id)).where(InboundMessage.state == "done")
        done, latest = session.exec(query).one()
        return int(done or 0), int(latest or 0)


class Scheduler:
    """What a tick does: today's reminders once their slot has come, anomalies once new mail was applied.

    The memory here only saves work (the day already written, the mail already looked at); it may be
    lost at any time, since writing again changes nothing.
    """

    def __init__(
        self, engine: Engine, settings: Settings, cycle: Cycle, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.engine, self.settings, self.cycle = engine, settings, cycle
        self._clock = clock or (lambda: datetime.now(cycle.tz))
        self._written_day: date | None = None
        self._seen_mail: tuple[int, int] | None = None

    def tick(self) -> int:
        """How many items were written."""
        now = self._clock()
        return self._reminders(now) + self._anomalies(now)

    def mail_applied(self) -> int:
        """After intake applied a message: alert new anomalies now."""
        return self._anomalies(self._clock())

    def _reminders(self, now: datetime) -> int:
        day = now.astimezone(self.cycle.tz).date()
        if day == self._written_day or now < reminder_slot(day, self.cycle):
            return 0
        written = enqueue_due(self.engine, self.settings, self.cycle, now).new
        self._written_day = day
        if written:
            log.info("scheduler: %d reminders for %s written to the outbox", written, day)
        return written

    def _anomalies(self, now: datetime) -> int:
        marker = mail_marker(self.engine)
        if marker == self._seen_mail:
            return 0
        written = enqueue_new_anomalies(self.engine, self.settings, self.cycle, now)
        self._seen_mail = marker
        if written:
            log.info("scheduler: %d anomaly alerts written to the outbox", written)
        return written


def _anomaly_text(report: UnitReport, anomaly: str, cycle: Cycle) -> Callable[[str, bool], str]:
    def text(lang: str, html: bool) -> str:
        return render(
            "reminder_anomaly",
            lang,
            html_mode=html,
            html=html,
            province=report.province,
            code=report.code,
            name=report.name,
            anomaly=anomaly,
            s=report.status,
            deadline=cycle.cancellation_deadline,
        )

    return text


def _is_province(session: Any, settings: Settings, name: str) -> bool:
    if name in settings.senders.provinces:
        return True
    return session.exec(select(Unit.id).where(Unit.province == name).limit(1)).first() is not None


def _all_officer_contacts(session: Any, settings: Settings, province: str) -> list[Recipient]:
    return officer_chats(session, settings, province) + officer_emails(settings, province)


def _other_channels(failed: OutboxItem, contacts: list[Recipient]) -> list[Recipient]:
    """Contacts on other channels than the one that failed; else anyone but the failed recipient."""
    others = [c for c in contacts if c.channel != failed.channel]
    return others or [c for c in contacts if c.address != failed.recipient]


def _failure_key(to: Recipient, cycle: Cycle, failed: OutboxItem, target: str) -> str:
    return outbox_key("officer", to, DELIVERY_FAILED, cycle.name, str(failed.id), target)
