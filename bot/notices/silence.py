"""Intake has been silent too long inside the cycle: every officer hears of it, once a day, on every
channel they have (group robots included), until mail arrives again."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlmodel import Session

from bot.config import Settings
from bot.notices.compose import compose, key_for, write
from bot.notices.recipients import every_officer
from mail.silence import DEFAULT_SILENCE_H, last_arrival, silent_since
from templates import render

KIND = "intake_silent"


def silence_alerts(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    window_opens: datetime,
    compliance_deadline: datetime,
    silence_alert_h: float = DEFAULT_SILENCE_H,
    tz: tzinfo | None = None,
) -> int:
    """Write today's alert for every officer when intake has been silent too long; returns how many."""
    last = last_arrival(session)
    began = silent_since(now, last, window_opens, compliance_deadline, silence_alert_h)
    if began is None:
        return 0
    local = now.astimezone(tz or now.tzinfo)
    hours = _whole_hours(local - began.astimezone(local.tzinfo))
    seen = None if last is None else last.astimezone(local.tzinfo)

    def text(lang: str, html: bool) -> str:
        return render("officer_mail_silent", lang, html_mode=html, hours=hours, last=seen)

    day = local.date().isoformat()
    items = [
        compose(key_for("officer", to, KIND, day), to.lang, "", text)
        for to in every_officer(session, settings, KIND)
    ]
    return write(session, items, now)


def _whole_hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)
