"""What one message makes known, told in the transaction that finishes it.

A trusted sender gets a receipt; officers hear of untrusted mail (the first of a province's hour at once,
the rest of that hour in one digest); two provinces claiming a unit hear of it; an old contact address
hears that a roster replaced it. Texts are built from the stored message, so that taking a message again
after a crash writes the same items under the same keys, which the outbox keeps once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.notices import emitter_replies
from bot.notices.applications import received as applications_received
from bot.notices.compose import compose, item, key_for, write
from bot.notices.keys import OutboxKey
from bot.notices.recipients import Recipient, officers
from mail.authn import AUTH_REFUSAL
from mail.classify import province_from_text
from mail.intake import Told
from mail.province_claims import Claim
from mail.trust import Senders
from storage.contacts import Change
from storage.inbox import WITHOUT_RAW, row_errors_of
from storage.models import InboundMessage, OutboxItem
from storage.outbox import NewItem
from templates import render

# A receipt lists this many refused rows; a sheet of thousands of bad rows is summed up after that.
MAX_LISTED_ERRORS = 200
DIGEST_LISTED = 20
EMITTER_REQUESTS = ("status_query", "screenshot")
# Parsers may start a reason with its own row number; the receipt numbers every line already.
_ROW_PREFIX = re.compile(r"^第\s*\d+\s*行\s*[：:]\s*")


@dataclass(frozen=True)
class ListedError:
    row: int
    reason: str


@dataclass(frozen=True)
class MessageNotices:
    """intake's notifier (mail.intake.Notify): everything a finished message makes someone hear."""

    settings: Settings

    @cached_property
    def senders(self) -> Senders:
        """Built once for the notifier's life, not once per message."""
        return self.settings.trusted_senders()

    def __call__(self, session: Session, message: InboundMessage, told: Told, now: datetime) -> None:
        items = [item for claim in told.claims for item in claim_alerts(session, self.settings, claim)]
        items += [contact_changed(c, message.id or 0, self.settings.lang) for c in told.contact_changes]
        items += applications_received(session, self.settings, told.applications, now)
        if message.kind in EMITTER_REQUESTS:  # the address on file is answered; anyone else hears nothing
            items += emitter_replies.answer(session, self.settings, message, told, now)
        elif message.handed_in_by:
            pass  # handed in from a chat: the chat's answer is its receipt (bot/chat/files.py)
        elif held(message):  # a stranger's application beyond its share: kept, told in the hour's digest
            items += untrusted_alerts(session, self.settings, message, now)
        elif not told.automatic:  # answering an auto-reply or a bounce invites the next one (RFC 3834)
            items += self._answer(session, message, now)
        write(session, items, now)

    def _answer(self, session: Session, message: InboundMessage, now: datetime) -> list[NewItem]:
        forged = (message.reason or "").startswith(AUTH_REFUSAL)  # the address's owner did not write it
        sender = message.sender or ""
        configured = bool(sender) and self.senders.is_configured(sender)
        if sender and (message.trusted or (configured and not forged)):
            return [receipt(message, now, self.settings.lang)]  # a configured sender hears why, too
        if message.state == "quarantined":
            return untrusted_alerts(session, self.settings, message, now)
        return []


# --- the sender's receipt ----------------------------------------------------------------------------


def receipt(message: InboundMessage, now: datetime, lang: str) -> NewItem:
    address = (message.sender or "").lower()
    errors = row_errors(message)
    body = render(
        "receipt",
        lang,
        message_pk=message.id,
        subject=one_line(message.subject),
        sent_at=_local(message.sent_at, now),
        kind=message.kind,
        outcome=message.outcome,
        rows_applied=message.rows_applied,
        reason=message.reason,
        errors=errors[:MAX_LISTED_ERRORS],
        errors_total=len(errors),
        errors_unlisted=max(0, len(errors) - MAX_LISTED_ERRORS),
    )
    subject = render("receipt_subject", lang, subject=one_line(message.subject))
    # the outcome is part of what makes it once: a retried message that now applies is answered again
    key = OutboxKey("sender", "email", address, "receipt", (str(message.id), message.outcome or ""))
    return item(key, body, subject)


def row_errors(message: InboundMessage) -> list[ListedError]:
    return [listed_error(entry.get("row"), entry.get("reason")) for entry in row_errors_of(message)]


def listed_error(row: object, reason: object) -> ListedError:
    """A refused row as a receipt lists it, by email or in chat."""
    return ListedError(row if isinstance(row, int) else 0, _ROW_PREFIX.sub("", str(reason or "")))


# --- officers hear of untrusted mail -----------------------------------------------------------------


def untrusted_alerts(
    session: Session, settings: Settings, message: InboundMessage, now: datetime
) -> list[NewItem]:
    """The first untrusted message of a province in an hour is told at once; the others of that hour
    are collapsed into one digest sent when the hour ends, so a flood of forged mail is two alerts.
    A stranger's application kept beyond its share is never told at once: only in the digest."""
    province = province_of(message)
    everyone = officers(session, settings, province, "untrusted_mail")
    start = _hour_of(message.received_at, now)
    same_hour = _kept_in(session, province, start)
    first = next((m for m in same_hour if not held(m)), None)  # the one told at once
    if not everyone or (not held(message) and (first is None or first.id == message.id)):
        return _single_alerts(everyone, message, province, now)
    rest = [m for m in same_hour if m is not first]
    if not all(_update_digest(session, to, province, start, rest, now) for to in everyone):
        return _single_alerts(everyone, message, province, now)  # that hour's digest is gone: tell it alone
    return []


def held(message: InboundMessage) -> bool:
    """A stranger's application kept, not put to the officers (mail.applications.held_because)."""
    return message.kind == "application" and message.outcome == "held"


def province_of(message: InboundMessage) -> str | None:
    return message.province or province_from_text(message.subject)


def _hour_of(when: datetime, now: datetime) -> datetime:
    return when.astimezone(now.tzinfo).replace(minute=0, second=0, microsecond=0)


def _kept_in(session: Session, province: str | None, start: datetime) -> list[InboundMessage]:
    """The hour's untrusted messages: quarantined, or strangers' applications kept beyond their share."""
    query = (
        select(InboundMessage)
        .options(*WITHOUT_RAW)
        .where(
            or_(
                and_(col(InboundMessage.state) == "quarantined", col(InboundMessage.trusted).is_(False)),
                and_(col(InboundMessage.kind) == "application", col(InboundMessage.outcome) == "held"),
            ),
            col(InboundMessage.received_at) >= start,
            col(InboundMessage.received_at) < start + timedelta(hours=1),
        )
        .order_by(col(InboundMessage.id))
    )
    return [m for m in session.exec(query) if province_of(m) == province]


def _update_digest(
    session: Session,
    to: Recipient,
    province: str | None,
    start: datetime,
    listed: list[InboundMessage],
    now: datetime,
) -> bool:
    """Write or rewrite the hour's digest while it waits; False when it has already gone out."""
    key = key_for("officer", to, "untrusted_digest", province or "*", f"{start:%Y-%m-%dT%H}")

    def text(lang: str, html: bool) -> str:
        return render(
            "officer_mail_untrusted_digest",
            lang,
            html_mode=html,
            province=province,
            hour=start,
            total=len(listed),
            messages=[
                (m.id, m.sender or "", one_line(m.subject), m.reason or "") for m in listed[:DIGEST_LISTED]
            ],
            held=sum(1 for m in listed if held(m)),
        )

    digest = compose(key, to.lang, province or "*", text)
    write(session, [digest], now)
    waiting = session.exec(select(OutboxItem).where(OutboxItem.key == digest.key)).one()
    if waiting.state != "pending":
        return False
    waiting.body, waiting.next_attempt_at = digest.body, max(start + timedelta(hours=1), now)
    return True


def _single_alerts(
    everyone: Sequence[Recipient], message: InboundMessage, province: str | None, now: datetime
) -> list[NewItem]:
    def text(lang: str, html: bool) -> str:
        return render(
            "officer_mail_untrusted",
            lang,
            html_mode=html,
            message_pk=message.id,
            sender=message.sender or "",
            subject=one_line(message.subject),
            sent_at=_local(message.sent_at, now),
            reason=message.reason or "",
            province=province,
            held=held(message),
        )

    return [
        compose(key_for("officer", to, "untrusted_mail", str(message.id)), to.lang, province or "*", text)
        for to in everyone
    ]


# --- two provinces claim one unit; a roster replaced a contact address ------------------------------


def claim_alerts(session: Session, settings: Settings, claim: Claim) -> list[NewItem]:
    """The officers of both provinces (and the national ones) hear of it."""
    everyone = {
        (to.channel, to.address): to
        for province in (claim.held_by, claim.claimed_by)
        for to in officers(session, settings, province, "province_claim")
    }

    def text(lang: str, html: bool) -> str:
        return render(
            "officer_province_claim",
            lang,
            html_mode=html,
            code=claim.code,
            name=claim.name,
            held_by=claim.held_by,
            claimed_by=claim.claimed_by,
            decided=claim.decided,
        )

    about = (claim.code, claim.held_by, claim.claimed_by)
    return [
        compose(key_for("officer", to, "province_claim", *about), to.lang, claim.claimed_by, text)
        for to in everyone.values()
    ]


def contact_changed(change: Change, message_pk: int, lang: str) -> NewItem:
    """The old address hears that a roster changed it: a forged roster cannot move a unit's mail unseen."""
    text = render(
        "contact_changed",
        lang,
        name=change.name,
        code=change.code,
        old=change.old_address,
        new=change.new_address,
        usable_from=change.usable_from,
    )
    subject, _, body = text.partition("\n")
    address = change.old_address.lower()
    key = OutboxKey("emitter", "email", address, "contact_changed", (change.code, str(message_pk)))
    return item(key, body.strip() + "\n", subject.strip())


def _local(value: datetime | None, now: datetime) -> datetime | None:
    return None if value is None else value.astimezone(now.tzinfo)


def one_line(text: str) -> str:
    return " ".join(text.split())
