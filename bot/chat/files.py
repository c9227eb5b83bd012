"""A file dropped into the chat. A bound officer's roster, weekly summary, list or Word form is taken as if
the province's trusted sender had mailed it (a national officer's: as the national center's), through the
one intake, and the answer is its receipt; a bound emitter's PDF or image is its stamped screenshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlmodel import Session, col, select

from bot.chat import screenshots
from bot.chat.base import Query, refuse, say
from bot.chat.reply import Reply
from bot.notices.message import listed_error
from mail.handed_in import NO_ADDRESS, HandedIn, as_mail, sender_of, takes_file
from mail.intake import IntakeConfig, Outcome, take
from storage.engine import session_scope
from storage.inbox import WITHOUT_RAW, row_errors_of
from storage.models import InboundMessage

LISTED_ERRORS = 20  # a chat message stays readable; the rest are counted
MAX_FILE_BYTES = 20 * 1024 * 1024  # the most a chat takes (the most the Telegram Bot API lets a bot download)
# why a file sent in chat has no bytes: larger than MAX_FILE_BYTES, or the platform did not give them
Unfetched = Literal["too_large", "failed"]


def received_file(
    q: Query,
    intake: Callable[[], IntakeConfig],
    filename: str | None,
    content_type: str,
    data: bytes,
    unfetched: Unfetched | None = None,
) -> Reply:
    """`intake`: the intake's configuration, built only when an officer's file is taken; `unfetched`: why
    the adapter has no bytes to give (the person is told, and asked to send it again or by mail)."""
    if q.identity is None:
        return refuse(q, "unbound")
    if unfetched is not None:
        limit_mb = MAX_FILE_BYTES // (1024 * 1024)
        return say("chat_file_unfetched", q, problem=unfetched, filename=filename or "", limit_mb=limit_mb)
    if q.identity.role != "officer" or not q.identity.province:
        return screenshots.received_file(q, filename, content_type, data)
    if not takes_file(filename, content_type, data):
        return say("chat_file_receipt", q, taken=False, filename=filename or "")
    config = intake()
    handed = HandedIn(str(q.peer), q.identity.province)
    raw = as_mail(handed, config.senders, filename, content_type, data, q.now)
    outcome = take(q.engine, raw, handed.source, config, q.now, handed_in=handed)
    sender = sender_of(handed, config.senders)
    return say("chat_file_receipt", q, taken=True, filename=filename or "", **_receipt(q, outcome),
               province=handed.province, sender=None if sender == NO_ADDRESS else sender)  # fmt: skip


def _receipt(q: Query, outcome: Outcome) -> dict[str, Any]:
    """The email receipt's facts, read from the stored message as the receipt reads them (a summary
    without rows has its note there); a duplicate names the message it repeats and what became of it."""
    facts: dict[str, Any] = {
        "message_pk": outcome.message_pk,
        "kind": outcome.kind,
        "outcome": outcome.outcome,
        "rows_applied": outcome.rows_applied,
        "reason": outcome.reason,
        "applications": outcome.applications,
        "earlier": None,
        "earlier_outcome": None,
    }
    with session_scope(q.engine) as session:
        message = session.get(InboundMessage, outcome.message_pk or 0, options=WITHOUT_RAW)
        if message is None:
            return facts | {"errors": [], "errors_total": 0, "errors_unlisted": 0}
        if outcome.outcome == "duplicate":
            first = _first_of(session, message)
            facts |= {"kind": first.kind, "earlier": first.id, "earlier_outcome": first.outcome}
            stored = []
        else:
            stored = row_errors_of(message)
            facts["reason"] = outcome.reason if outcome.outcome == "quarantined" else message.reason
    errors = [listed_error(e.get("row"), e.get("reason")) for e in stored]
    return facts | {
        "errors": errors[:LISTED_ERRORS],
        "errors_total": len(errors),
        "errors_unlisted": max(0, len(errors) - LISTED_ERRORS),
    }


def _first_of(session: Session, message: InboundMessage | None) -> InboundMessage:
    """The message a duplicate repeats: the first with its Message-ID (the same bytes are that one)."""
    assert message is not None
    if message.outcome != "duplicate" or not message.message_id:
        return message
    query = (
        select(InboundMessage).options(*WITHOUT_RAW).where(InboundMessage.message_id == message.message_id)
    )
    return session.exec(query.order_by(col(InboundMessage.id))).first() or message
