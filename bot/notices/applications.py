"""Who hears of an emitter's application: the province's officers when it comes (with what the checks
found and the command that opens it with its buttons), the emitter when it comes and when it is decided.

The emitter hears at the address the form came from and at the contact address on file when that is
another one (a form sent in the unit's name by someone else does not go unseen), and in its chats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config import Settings
from bot.notices.compose import HTML_CHANNELS, compose, item, key_for, write
from bot.notices.keys import OutboxKey
from bot.notices.recipients import CHAT_CHANNELS, Recipient, officers
from compliance.applications import Check, suggested_reasons, window_open
from compliance.cycle import Cycle, load_cycle
from storage import access, applications
from storage.models import OffsetApplication, Unit
from storage.outbox import NewItem
from templates import label, render

KIND = "application"


def received(session: Session, settings: Settings, ids: Sequence[int], now: datetime) -> list[NewItem]:
    """The notices of applications just stored: the officers' and the emitter's acknowledgement."""
    found = [a for i in ids if (a := session.get(OffsetApplication, i)) is not None]
    return [n for a in found for n in _to_officers(session, settings, a) + _to_emitter(session, settings, a)]


def decided(session: Session, settings: Settings, application: OffsetApplication, now: datetime) -> int:
    """The emitter hears the officer's decision, in the notice's words, with its next step."""
    return write(session, _to_emitter(session, settings, application), now)


def _cycle(application: OffsetApplication) -> Cycle:
    return load_cycle(application.cycle)


def _to_officers(session: Session, settings: Settings, application: OffsetApplication) -> list[NewItem]:
    checks = applications.checks_of(application)
    projects = applications.projects_of(session, application.id or 0)
    failed = [c for c in checks if c.get("ok") is False]

    def text(lang: str, html: bool) -> str:
        return render(
            "officer_application",
            lang,
            html_mode=html,
            application=application,
            projects=projects,
            checks=checks,
            failed=failed,
            suggested=suggested_reasons_of(checks),
        )

    province = application.province or "*"
    return [
        compose(key_for("officer", to, KIND, str(application.id), province), to.lang, province, text)
        for to in officers(session, settings, application.province, KIND)
    ]


def suggested_reasons_of(checks: list[dict[str, object]]) -> list[str]:
    return suggested_reasons([Check(str(c.get("name")), c.get("ok")) for c in checks])  # type: ignore[arg-type]


def emitter_recipients(
    session: Session, settings: Settings, application: OffsetApplication
) -> list[Recipient]:
    """The unit's chats, the address the form came from, and the contact address on file."""
    chats = []
    if application.code:
        chats = [
            Recipient(channel, b.chat_id, b.lang)
            for b in access.chats_for_unit(session, application.code)
            if (channel := _chat_channel(b.platform)) is not None
        ]
    unit = session.get(Unit, application.unit_id) if application.unit_id else None
    addresses = [application.sender, unit.contact_email if unit else None]
    emails = [Recipient("email", a.lower(), settings.lang) for a in dict.fromkeys(a for a in addresses if a)]
    return chats + emails


def _chat_channel(platform: str) -> str | None:
    return CHAT_CHANNELS.get(platform)


def _to_emitter(session: Session, settings: Settings, application: OffsetApplication) -> list[NewItem]:
    cycle = _cycle(application)
    projects = applications.projects_of(session, application.id or 0)
    event = application.state  # pending: received; confirmed | returned: decided
    at = application.decided_at or application.received_at
    context: dict[str, Any] = {
        "application": application,
        "projects": projects,
        "event": event,
        "cycle": cycle,
        "resend": window_open(cycle, at),
        "reason": _reason_text(application.reason),
    }
    items = []
    for to in emitter_recipients(session, settings, application):
        key = OutboxKey(
            "emitter",
            to.channel,
            to.address,
            f"{KIND}_{event}",
            (str(application.id), application.code or ""),
        )
        if to.channel == "email":
            subject = render("emitter_application_subject", to.lang, **context)
            items.append(item(key, render("emitter_application", to.lang, **context) + "\n", subject))
        else:
            html = to.channel in HTML_CHANNELS
            items.append(item(key, render("emitter_application", to.lang, html_mode=html, **context)))
    return items


def _reason_text(reason: str | None) -> dict[str, str] | None:
    """A reason chosen from the list is worded per language; one typed by the officer stays as typed."""
    if reason is None:
        return None
    return {lang: label("return_reason", reason, lang) for lang in ("zh", "en")}
