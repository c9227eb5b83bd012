"""What the bot answers to a message: a receipt to a trusted sender, a warning to officers otherwise.

Both are written into the outbox, never sent from here. The text is built from the stored message, not
from the Outcome alone, so that taking a message again after a crash (a duplicate of the same row)
rewrites the same item under the same key, which the outbox ignores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlmodel import Session, col, select

from mail.authn import AUTH_REFUSAL
from mail.classify import province_from_text
from mail.intake import Outcome
from mail.trust import Senders
from storage import access
from storage.inbox import WITHOUT_RAW, row_errors_of
from storage.models import ChatBinding, InboundMessage, OutboxItem
from storage.outbox import NewItem, enqueue
from templates import render

# A receipt lists this many refused rows; a sheet of thousands of bad rows is summed up after that.
MAX_LISTED_ERRORS = 200
# Parsers may start a reason with its own row number; the receipt numbers every line already.
_ROW_PREFIX = re.compile(r"^第\s*\d+\s*行\s*[：:]\s*")
# Answering an out-of-office reply or a bounce invites the next one (RFC 3834): those get no answer.
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply"})
_AUTOMATIC_HEADERS = ("X-Autoreply", "X-Autorespond")


@dataclass(frozen=True)
class ListedError:
    row: int
    reason: str


def enqueue_receipt(
    session: Session, outcome: Outcome, now: datetime, lang: str = "zh", *, senders: Senders | None = None
) -> int:
    """Write the receipt (trusted sender) or the officers' warning (untrusted); returns how many items.

    Pass `senders` so that a configured sender whose message was quarantined (unreadable attachment,
    wrong province) gets the reason: such a message is stored as not trusted.
    """
    message = session.get(InboundMessage, outcome.message_pk) if outcome.message_pk is not None else None
    if message is None or message.outcome in (None, "duplicate"):
        return 0  # not finished, or a repeat that the first copy's receipt already answers
    if is_automatic(message.raw):
        return 0
    forged = (message.reason or "").startswith(AUTH_REFUSAL)  # the real owner of the address did not write
    if message.sender and (message.trusted or (_configured(senders, message.sender) and not forged)):
        return enqueue(session, [_receipt(message, now, lang)], now)
    if message.state == "quarantined":
        return enqueue(session, _untrusted_alerts(session, message, now), now)
    return 0


def is_automatic(raw: bytes) -> bool:
    """An auto-reply, a bounce or bulk mail, by its headers."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    submitted = str(headers.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(headers.get("Precedence", "")).strip().lower()
    return (
        submitted != "no"
        or precedence in _AUTOMATIC_PRECEDENCE
        or headers.get_content_type() == "multipart/report"
        or any(name in headers for name in _AUTOMATIC_HEADERS)
    )


def _configured(senders: Senders | None, address: str) -> bool:
    if senders is None:
        return False
    return senders.is_configured(address)


def _receipt(message: InboundMessage, now: datetime, lang: str) -> NewItem:
    address = (message.sender or "").lower()
    errors = _row_errors(message)
    body = render(
        "receipt",
        lang,
        message_pk=message.id,
        subject=_one_line(message.subject),
        sent_at=_local(message.sent_at, now),
        kind=message.kind,
        outcome=message.outcome,
        rows_applied=message.rows_applied,
        reason=message.reason,
        errors=errors[:MAX_LISTED_ERRORS],
        errors_total=len(errors),
        errors_unlisted=max(0, len(errors) - MAX_LISTED_ERRORS),
    )
    subject = render("receipt_subject", lang, subject=_one_line(message.subject))
    return NewItem(
        key=f"sender|email:{address}|receipt|{message.id}",
        audience="sender",
        channel="email",
        recipient=address,
        kind="receipt",
        body=body,
        subject=subject,
    )


def _row_errors(message: InboundMessage) -> list[ListedError]:
    listed = []
    for entry in row_errors_of(message):
        row, reason = entry.get("row"), entry.get("reason")
        listed.append(ListedError(row if isinstance(row, int) else 0, _ROW_PREFIX.sub("", str(reason or ""))))
    return listed


def _province_of(message: InboundMessage) -> str | None:
    return message.province or province_from_text(message.subject)


def _untrusted_alerts(session: Session, message: InboundMessage, now: datetime) -> list[NewItem]:
    """The first untrusted message of a province in an hour is told at once; the others of that hour
    are collapsed into one digest sent when the hour ends, so a flood of forged mail is two alerts."""
    province = _province_of(message)
    chats = access.officer_chats(session, province) if province else national_officer_chats(session)
    chats = [chat for chat in chats if chat.platform == "telegram"]  # what this writes is Telegram's
    start = _hour_of(message.received_at, now)
    same_hour = _quarantined_in(session, province, start)
    if not chats or not same_hour or same_hour[0].id == message.id:
        return _single_alerts(chats, message, province, now)
    rest = same_hour[1:]
    if not all(_update_digest(session, chat, province, start, rest, now) for chat in chats):
        return _single_alerts(chats, message, province, now)  # that hour's digest is gone: tell it alone
    return []


DIGEST_LISTED = 20


def _hour_of(when: datetime, now: datetime) -> datetime:
    return when.astimezone(now.tzinfo).replace(minute=0, second=0, microsecond=0)


def _quarantined_in(session: Session, province: str | None, start: datetime) -> list[InboundMessage]:
    query = (
        select(InboundMessage)
        .options(*WITHOUT_RAW)
        .where(
            InboundMessage.state == "quarantined",
            col(InboundMessage.trusted).is_(False),
            col(InboundMessage.received_at) >= start,
            col(InboundMessage.received_at) < start + timedelta(hours=1),
        )
        .order_by(col(InboundMessage.id))
    )
    return [m for m in session.exec(query) if _province_of(m) == province]


def _update_digest(
    session: Session,
    chat: ChatBinding,
    province: str | None,
    start: datetime,
    listed: list[InboundMessage],
    now: datetime,
) -> bool:
    """Write or rewrite the hour's digest while it waits; False when it has already gone out."""
    key = f"officer|telegram:{chat.chat_id}|untrusted_digest|{province or '*'}|{start:%Y-%m-%dT%H}"
    body = render(
        "officer_mail_untrusted_digest",
        chat.lang,
        province=province,
        hour=start,
        total=len(listed),
        messages=[
            (m.id, m.sender or "", _one_line(m.subject), m.reason or "") for m in listed[:DIGEST_LISTED]
        ],
    )
    item = NewItem(key, "officer", "telegram", str(chat.chat_id), "untrusted_digest", body)
    enqueue(session, [item], now)
    waiting = session.exec(select(OutboxItem).where(OutboxItem.key == key)).one()
    if waiting.state != "pending":
        return False
    waiting.body, waiting.next_attempt_at = body, max(start + timedelta(hours=1), now)
    return True


def _single_alerts(
    chats: list[ChatBinding], message: InboundMessage, province: str | None, now: datetime
) -> list[NewItem]:
    return [
        NewItem(
            key=f"officer|telegram:{chat.chat_id}|untrusted_mail|{message.id}",
            audience="officer",
            channel="telegram",
            recipient=str(chat.chat_id),
            kind="untrusted_mail",
            body=render(
                "officer_mail_untrusted",
                chat.lang,
                message_pk=message.id,
                sender=message.sender or "",
                subject=_one_line(message.subject),
                sent_at=_local(message.sent_at, now),
                reason=message.reason or "",
                province=province,
            ),
        )
        for chat in chats
    ]


def national_officer_chats(session: Session) -> list[ChatBinding]:
    query = select(ChatBinding).where(ChatBinding.role == "officer", ChatBinding.province == "*")
    return [chat for chat in session.exec(query) if chat.platform == "telegram"]


def _local(value: datetime | None, now: datetime) -> datetime | None:
    return None if value is None else value.astimezone(now.tzinfo)


def _one_line(text: str) -> str:
    return " ".join(text.split())
