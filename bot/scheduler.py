"""The scheduler: when to have what is due written into the outbox (bot.notices). It never sends; the
sender delivers from the outbox.

Every write is idempotent: an item's key names its audience, recipient, kind, cycle and day (or, for
one-off alerts, the object it is about), and the outbox keeps one row per key. So a tick may run any number
of times, in any number of instances, and after any restart: PTB's JobQueue keeps nothing across restarts,
and needs to keep nothing, because the outbox is the ledger of what was written. At start-up the service
ticks once, which writes what is due today if its slot has passed and its key is absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import Settings
from bot.notices.anomalies import enqueue_new_anomalies
from bot.notices.reminders import enqueue_due
from compliance.cycle import Cycle
from compliance.schedule import reminder_slot
from storage.engine import session_scope
from storage.models import InboundMessage

log = logging.getLogger(__name__)


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
