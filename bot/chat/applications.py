"""The officers' step 4 in chat: the queue of applications, one application with 确认 / 退回, the week's
summary with its send button. Every decision is recorded with who (the officer's chat) and when, and the
emitter hears of it (bot.notices.applications)."""

from __future__ import annotations

from sqlmodel import Session

from bot.chat import keyboards
from bot.chat.base import Keyboard, Query, officers_only, say
from bot.chat.reply import Attachment, Reply
from bot.chat.scope import NATIONAL, scoped
from bot.notices import applications as told
from bot.notices import applications_summary as summary
from compliance.applications import RETURN_REASONS
from storage import applications
from storage.engine import session_scope
from storage.models import OffsetApplication, SummaryDraft
from templates import label

DECIDED_SHOWN = 10


@scoped("applications")
def queue(q: Query, province: str) -> Reply:
    with session_scope(q.engine) as session:
        found = applications.queue(session, province, q.cycle.name)
        waiting = [(a.id, a.name, a.requested_t) for a in found if a.state == "pending"]
        decided = [(a.id, a.name, a.requested_t, a.state) for a in found if a.state != "pending"]
    buttons = keyboards.rows(
        *(
            [keyboards.button("", q.lang, "application", str(i), text=f"{n} {r or 0:,}")]
            for i, n, r in waiting
        )
    )
    return say(
        "chat_applications", q, buttons, province=province, waiting=waiting, decided=decided[:DECIDED_SHOWN]
    )


def _mine(q: Query, session: Session) -> OffsetApplication | None:
    """The application the first argument names, if it is the officer's province's."""
    assert q.identity is not None
    number = q.args[0] if q.args else ""
    found = session.get(OffsetApplication, int(number)) if number.isdigit() else None
    if found is None or q.identity.province not in (NATIONAL, found.province):
        return None
    return found


@officers_only
def show(q: Query) -> Reply:
    with session_scope(q.engine) as session:
        found = _mine(q, session)
        if found is None:
            return say("chat_application", q, application=None)
        reply = _shown(q, session, found)
    return reply


def _shown(q: Query, session: Session, application: OffsetApplication, note: str | None = None) -> Reply:
    keyboard: Keyboard = ()
    if application.state == "pending":
        keyboard = keyboards.rows(
            [
                keyboards.button("confirm_application", q.lang, "confirm_application", str(application.id)),
                keyboards.button("return_application", q.lang, "return_application", str(application.id)),
            ]
        )
    return say(
        "chat_application",
        q,
        keyboard,
        application=application,
        projects=applications.projects_of(session, application.id or 0),
        checks=applications.checks_of(application),
        suggested=told.suggested_reasons_of(applications.checks_of(application)),
        note=note,
    )


@officers_only
def confirm(q: Query) -> Reply:
    return _decide(q, "confirmed", None)


@officers_only
def return_(q: Query) -> Reply:
    """退回: with no reason, the reasons to choose from (or type one: /return_application ID 原因)."""
    if len(q.args) < 2:
        return _reasons(q)
    typed = " ".join(q.args[1:])
    return _decide(q, "returned", typed)  # a reason's key, or the officer's own words


def _reasons(q: Query) -> Reply:
    with session_scope(q.engine) as session:
        found = _mine(q, session)
        if found is None:
            return say("chat_application", q, application=None)
        suggested = told.suggested_reasons_of(applications.checks_of(found))
    ordered = suggested + [r for r in RETURN_REASONS if r not in suggested]
    number = str(found.id)
    buttons = keyboards.rows(
        *(
            [keyboards.button("", q.lang, "return_application", number, r, text=_label(r, q.lang))]
            for r in ordered
        )
    )
    return say("chat_return_reasons", q, buttons, number=number)


def _label(reason: str, lang: str) -> str:
    return label("return_reason", reason, lang)


def _decide(q: Query, state: str, reason: str | None) -> Reply:
    with session_scope(q.engine) as session:
        found = _mine(q, session)
        if found is None:
            return say("chat_application", q, application=None)
        decision = applications.decide(session, found.id or 0, state, str(q.peer), q.now, reason)
        assert decision is not None
        if decision.changed and q.settings is not None:
            told.decided(session, q.settings, decision.application, q.now)
        note = "decided" if decision.changed else "already"
        return _shown(q, session, decision.application, note)


@scoped("summary")
def week(q: Query, province: str) -> Reply:
    with session_scope(q.engine) as session:
        draft = applications.latest_draft(session, province)
        if draft is None:
            return say("chat_summary", q, draft=None, province=province)
        keyboard: Keyboard = ()
        if draft.state == "shown":
            keyboard = keyboards.rows(
                [keyboards.button("send_summary", q.lang, "send_summary", str(draft.id))]
            )
        text = say("chat_summary", q, keyboard, draft=draft, province=province)
        name = f"{province}-{draft.as_of:%Y%m%d}.xlsx"
        return Reply(text.text, text.keyboard, Attachment("document", draft.xlsx, name))


@officers_only
def send_summary(q: Query) -> Reply:
    assert q.identity is not None
    number = q.args[0] if q.args else ""
    with session_scope(q.engine) as session:
        draft = session.get(SummaryDraft, int(number)) if number.isdigit() else None
        if draft is None or q.identity.province not in (NATIONAL, draft.province) or q.settings is None:
            return say("chat_summary", q, draft=None, province=q.identity.province)
        approved = applications.approve(session, draft.id or 0, str(q.peer), q.now)
        if approved is not None:
            summary.send(session, q.settings, approved, q.now)
        return say(
            "chat_summary_sent",
            q,
            draft=draft,
            sent=approved is not None,
            to=q.settings.applications.ncsc_address,
        )
