"""Reminders and alerts due at an instant: what compliance says is due (compliance.due), who hears
it (bot.notices.recipients), and the words each recipient gets, in its own language and channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.notices.compose import compose, key_for, write
from bot.notices.recipients import Recipient, emitters, officers
from bot.reports import UnitReport, unit_reports
from compliance.cycle import Cycle
from compliance.due import DueItem, due_on, reminder_slot
from storage.engine import session_scope
from storage.outbox import NewItem
from templates import render


@dataclass(frozen=True)
class Reminder:
    item: DueItem
    recipients: tuple[Recipient, ...]
    text: str  # in the configured language; each recipient gets its own language when sent
    names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

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

    def render(self, lang: str, html: bool = False) -> str:
        return render_item(self.item, lang, self.names, html)


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
            result.append(Reminder(item, recipients, text, names))
    return result


def render_item(item: DueItem, lang: str, names: Mapping[str, str], html: bool = False) -> str:
    def unit_names(codes: tuple[str, ...]) -> list[str]:
        return [names.get(code, code) for code in codes]

    if item.audience == "emitter":
        name = names.get(item.target, item.target)
        return render(
            "reminder_emitter",
            lang,
            html_mode=html,
            html=html,
            item=item,
            d=item.details,
            code=item.target,
            name=name,
        )
    return render(
        "reminder_officer", lang, html_mode=html, html=html, item=item, d=item.details, names=unit_names
    )


# --- who, and what goes into the outbox ------------------------------------------------------------


def _recipients(
    session: Session, settings: Settings, item: DueItem, reports: dict[str, UnitReport]
) -> list[Recipient]:
    if item.audience == "officer":
        return officers(session, settings, item.target, item.kind)
    email = reports[item.target].contact_email if item.target in reports else None
    return emitters(session, settings, item.target, email)


def outbox_items(
    item: DueItem, recipients: Sequence[Recipient], names: Mapping[str, str], cycle: str
) -> list[NewItem]:
    """One outbox item per recipient of a due reminder or alert, in the recipient's language."""

    def text(lang: str, html: bool) -> str:
        return render_item(item, lang, names, html)

    return [
        compose(
            key_for(item.audience, to, item.kind, cycle, item.day.isoformat(), item.target),
            to.lang,
            names.get(item.target, item.target),
            text,
        )
        for to in recipients
    ]


@dataclass(frozen=True)
class Enqueued:
    keys: list[str]  # every key due, new or not
    new: int  # how many of them were written now


def enqueue_due(
    engine: Engine, settings: Settings, cycle: Cycle, at: datetime, now: datetime | None = None
) -> Enqueued:
    """Write the reminders and alerts due at `at` (their day, once the slot has come).

    A reminder whose deadline has passed by `at` is left out: it would only arrive too late. Each is
    rendered once per recipient, straight into its outbox item (a deadline morning's texts are held
    once, not also as Reminders), and all are written in one transaction.
    """
    items, reports = due_items(engine, cycle, at)
    names = {code: r.name for code, r in reports.items()}
    with session_scope(engine) as session:
        due = [
            new
            for item in items
            if item.deadline is None or item.deadline > at
            for new in outbox_items(item, _recipients(session, settings, item, reports), names, cycle.name)
        ]
    del items, reports, names  # rendered: a deadline morning's reports go before its texts are written
    with session_scope(engine) as session:
        written = write(session, due, now or at)
    return Enqueued([new.key for new in due], written)
