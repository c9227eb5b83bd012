"""Reminders and alerts due at an instant: what compliance says is due, for whom, through which channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.reports import UnitReport, unit_reports
from compliance.cycle import Cycle
from compliance.schedule import DueItem, due_on, reminder_slot
from storage import access
from storage.engine import session_scope
from templates import render


@dataclass(frozen=True)
class Recipient:
    channel: str  # telegram | email
    address: str  # chat id or email address
    lang: str


@dataclass(frozen=True)
class Reminder:
    item: DueItem
    recipients: tuple[Recipient, ...]
    text: str  # in the configured language; each recipient gets its own language when sent

    def to_json(self) -> dict[str, Any]:
        item, details = self.item, self.item.details
        shaped: dict[str, Any] = {
            "audience": item.audience,
            "kind": item.kind,
            "also": list(item.also),
            "channels": sorted({r.channel for r in self.recipients}),
            "day": item.day.isoformat(),
            "deadline": item.deadline.isoformat() if item.deadline else None,
            "text": self.text,
        }
        shaped["code" if item.audience == "emitter" else "province"] = item.target
        if item.audience == "officer":
            shaped["units_total"] = details.get("units_total")
            shaped["units_complied"] = details.get("units_complied")
            shaped["outstanding"] = list(details.get("outstanding", ()))  # type: ignore[call-overload]
        else:
            shaped["to_cancel_t"] = details.get("to_cancel_t")
        return shaped


def due_items(engine: Engine, cycle: Cycle, at: datetime) -> tuple[list[DueItem], dict[str, UnitReport]]:
    """Items of the day of `at`, once its reminder slot has come; states as known at the slot."""
    day = at.astimezone(cycle.tz).date()
    slot = reminder_slot(day, cycle)
    if at < slot:
        return [], {}
    reports = unit_reports(engine, cycle, slot)
    units = [(r.code, r.province, r.status) for r in reports]
    return due_on(day, cycle, units), {r.code: r for r in reports}


def reminders_at(engine: Engine, settings: Settings, cycle: Cycle, at: datetime) -> list[Reminder]:
    items, reports = due_items(engine, cycle, at)
    names = {code: r.name for code, r in reports.items()}
    result = []
    with session_scope(engine) as session:
        for item in items:
            recipients = tuple(_recipients(session, settings, item, reports))
            text = render_item(item, settings.lang, names)
            result.append(Reminder(item, recipients, text))
    return result


def render_item(item: DueItem, lang: str, names: dict[str, str]) -> str:
    def unit_names(codes: tuple[str, ...]) -> list[str]:
        return [names.get(code, code) for code in codes]

    if item.audience == "emitter":
        return render(
            "reminder_emitter",
            lang,
            item=item,
            d=item.details,
            code=item.target,
            name=names.get(item.target, item.target),
        )
    return render("reminder_officer", lang, item=item, d=item.details, names=unit_names)


def _recipients(
    session: Any, settings: Settings, item: DueItem, reports: dict[str, UnitReport]
) -> list[Recipient]:
    if item.audience == "emitter":
        chats = [
            Recipient("telegram", str(b.chat_id), b.lang) for b in access.chats_for_unit(session, item.target)
        ]
        email = reports[item.target].contact_email if item.target in reports else None
        return chats or ([Recipient("email", email, settings.lang)] if email else [])
    chats = [
        Recipient("telegram", str(b.chat_id), b.lang) for b in access.officer_chats(session, item.target)
    ]
    bound = {r.address for r in chats}
    configured = [
        Recipient("telegram", str(o.telegram_id), settings.lang)
        for o in settings.officers
        if o.province in (item.target, "*") and str(o.telegram_id) not in bound
    ]
    chats += configured
    emails = settings.senders.provinces.get(item.target, [])
    return chats or [Recipient("email", address, settings.lang) for address in emails]
