"""Two provinces claiming one unit: never settled by who came first, and never in silence.

When the unit's credit code names a province (its administrative division), that province has it,
even if another took it first; when it names none, the unit stays where it is and the second claim is
refused. Either way the officers of both provinces and the national officers are told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from storage import access
from storage.models import ChatBinding
from storage.outbox import NewItem, enqueue
from templates import render


@dataclass(frozen=True)
class Claim:
    code: str
    name: str
    held_by: str  # the province that had the unit
    claimed_by: str  # the province whose roster names it now
    decided: str | None  # the province the code's division gives it to; None: the code names none


def alert_claims(session: Session, claims: Sequence[Claim], now: datetime) -> None:
    items: list[NewItem] = []
    for claim in claims:
        chats = {
            chat.chat_id: chat
            for province in (claim.held_by, claim.claimed_by)
            for chat in access.officer_chats(session, province)
        }
        national = select(ChatBinding).where(ChatBinding.role == "officer", ChatBinding.province == "*")
        chats.update({chat.chat_id: chat for chat in session.exec(national)})
        items += [_alert(chat, claim) for chat in chats.values() if chat.platform == "telegram"]
    enqueue(session, items, now)


def _alert(chat: ChatBinding, claim: Claim) -> NewItem:
    return NewItem(
        key=f"officer|telegram:{chat.chat_id}|province_claim|{claim.code}|{claim.held_by}|{claim.claimed_by}",
        audience="officer",
        channel="telegram",
        recipient=str(chat.chat_id),
        kind="province_claim",
        body=render(
            "officer_province_claim",
            chat.lang,
            code=claim.code,
            name=claim.name,
            held_by=claim.held_by,
            claimed_by=claim.claimed_by,
            decided=claim.decided,
        ),
    )
