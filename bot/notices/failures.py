"""An item the sender could not deliver: the officers concerned hear of it by their other channels."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.notices.compose import compose, key_for, write
from bot.notices.keys import OutboxKey
from bot.notices.recipients import Recipient, officers
from compliance.cycle import Cycle
from compliance.kinds import ALL_KINDS
from storage.engine import session_scope
from storage.models import OutboxItem, Unit
from storage.units import find_unit
from templates import render

log = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery_failed"


def enqueue_delivery_failed(
    engine: Engine, settings: Settings, cycle: Cycle, failed: OutboxItem, reason: str, now: datetime
) -> list[str]:
    """Tell the officers concerned that an item could not be delivered, by their other channels if any.

    Returns the keys of the alerts (written now or before).
    """
    if failed.kind == DELIVERY_FAILED:
        log.error("could not tell officers of a failed delivery either: %s (%s)", failed.key, reason)
        return []
    target = OutboxKey.parse(failed.key).target
    with session_scope(engine) as session:
        unit = find_unit(session, target)
        province = unit.province if unit else target if _is_province(session, settings, target) else None
        contacts = _other_channels(failed, officers(session, settings, province, DELIVERY_FAILED))
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
                key_for("officer", to, DELIVERY_FAILED, cycle.name, str(failed.id), target),
                to.lang,
                province or "",
                text,
            )
            for to in contacts
        ]
        if not items:
            log.error("nobody to tell of failed delivery %s (%s)", failed.key, reason)
        write(session, items, now)
        return [item.key for item in items]


def _is_province(session: Session, settings: Settings, name: str) -> bool:
    if name in settings.senders.provinces:
        return True
    return session.exec(select(Unit.id).where(Unit.province == name).limit(1)).first() is not None


def _other_channels(failed: OutboxItem, contacts: list[Recipient]) -> list[Recipient]:
    """Contacts on other channels than the one that failed; else anyone but the failed recipient."""
    others = [c for c in contacts if c.channel != failed.channel]
    return others or [c for c in contacts if c.address != failed.recipient]
