"""Reminders and alerts due at an instant: what compliance says is due, for whom, through which channel,
and the words each recipient gets (in its own language, formatted for its channel)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.groups.routing import groups_for
from bot.reports import UnitReport, unit_reports
from compliance.cycle import Cycle
from compliance.kinds import ALL_KINDS
from compliance.schedule import DueItem, due_on, reminder_slot
from storage import access
from storage.engine import session_scope
from storage.outbox import NewItem
from templates import render

Renderer = Callable[[str, bool], str]  # (lang, html) -> text
GROUP_KINDS = ("wecom", "dingtalk", "feishu")


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
        return render_item(self.item, lang, dict(self.names), html)


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


def render_item(item: DueItem, lang: str, names: dict[str, str], html: bool = False) -> str:
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


# --- recipients ------------------------------------------------------------------------------------


def officer_recipients(session: Any, settings: Settings, province: str, kind: str) -> list[Recipient]:
    """The province's officers (and national ones) in chat, by email only when none is in chat; and the
    group robots that take this kind of alert."""
    chats = officer_chats(session, settings, province)
    return (chats or officer_emails(settings, province)) + group_recipients(settings, province, kind)


def group_recipients(settings: Settings, province: str, kind: str) -> list[Recipient]:
    return [
        Recipient(group.kind, name, settings.lang) for name, group in groups_for(settings, province, kind)
    ]


def officer_chats(session: Any, settings: Settings, province: str) -> list[Recipient]:
    chats = [
        Recipient("telegram", b.chat_id, b.lang)
        for b in access.officer_chats(session, province)
        if b.platform == "telegram"  # the other platforms' chats are reached by their own channels
    ]
    bound = {r.address for r in chats}
    configured = [
        Recipient("telegram", str(o.telegram_id), settings.lang)
        for o in settings.officers
        if o.province in (province, "*") and str(o.telegram_id) not in bound
    ]
    return chats + configured


def officer_emails(settings: Settings, province: str) -> list[Recipient]:
    return [
        Recipient("email", address, settings.lang) for address in settings.senders.provinces.get(province, [])
    ]


def _recipients(
    session: Any, settings: Settings, item: DueItem, reports: dict[str, UnitReport]
) -> list[Recipient]:
    if item.audience == "officer":
        return officer_recipients(session, settings, item.target, item.kind)
    chats = [
        Recipient("telegram", b.chat_id, b.lang)
        for b in access.chats_for_unit(session, item.target)
        if b.platform == "telegram"
    ]
    email = reports[item.target].contact_email if item.target in reports else None
    return chats or ([Recipient("email", email, settings.lang)] if email else [])


# --- what goes into the outbox ---------------------------------------------------------------------


def outbox_key(audience: str, recipient: Recipient, kind: str, cycle: str, *rest: str) -> str:
    """audience|channel:recipient|kind|cycle|… with, last, the target (a unit code or a province).

    Reminders add day|target: the target keeps apart what one recipient gets about two targets on one
    day (a national officer hears of every province; several units may share one contact address).
    """
    return "|".join((audience, f"{recipient.channel}:{recipient.address}", kind, cycle, *rest))


def target_of(key: str) -> str:
    """The unit code or province an item is about: the last part of its key."""
    return key.rsplit("|", 1)[-1]


def compose(audience: str, recipient: Recipient, kind: str, about: str, text: Renderer, key: str) -> NewItem:
    """The words for one recipient: HTML for Telegram, a subject and a plain body for email.

    `about` ends an email's subject: the unit's name, or the province.
    """
    if recipient.channel == "telegram":
        return NewItem(key, audience, "telegram", recipient.address, kind, text(recipient.lang, True))
    if recipient.channel in GROUP_KINDS:  # plain text: the digest adds its own heading
        return NewItem(key, audience, recipient.channel, recipient.address, kind, text(recipient.lang, False))
    lang = recipient.lang
    subject = render(
        "email_subject", lang, audience=audience, kind=kind, target=about, reminder_kinds=ALL_KINDS
    )
    body = render("email_body", lang, audience=audience, text=text(lang, False))
    return NewItem(key, audience, "email", recipient.address, kind, body, subject)


def outbox_items(reminder: Reminder, cycle: str) -> list[NewItem]:
    """One outbox item per recipient of a due reminder or alert."""
    item = reminder.item
    return [
        compose(
            item.audience,
            recipient,
            item.kind,
            reminder.names.get(item.target, item.target),
            reminder.render,
            outbox_key(item.audience, recipient, item.kind, cycle, item.day.isoformat(), item.target),
        )
        for recipient in reminder.recipients
    ]
