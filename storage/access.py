"""Who a chat is: bindings, one-time codes (stored hashed, single-use, expiring) and guess throttling."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from storage.models import BindAttempt, ChatBinding, ChatPreference, OneTimeCode

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
CODE_LENGTH = 8
CODE_TTL = timedelta(hours=24)
MAX_FAILURES_PER_HOUR = 5


class Throttled(Exception):
    """Too many wrong codes from one chat in the last hour."""


@dataclass(frozen=True)
class Identity:
    chat_id: int
    role: str  # emitter | officer
    unit_code: str | None
    province: str | None
    lang: str


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def new_code(
    session: Session,
    *,
    role: str,
    now: datetime,
    unit_code: str | None = None,
    province: str | None = None,
    ttl: timedelta = CODE_TTL,
) -> str:
    plain = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        OneTimeCode(
            code_hash=_digest(plain),
            role=role,
            unit_code=unit_code,
            province=province,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return plain


def failures_last_hour(session: Session, chat_id: int, now: datetime) -> int:
    query = (
        select(func.count())
        .select_from(BindAttempt)
        .where(
            BindAttempt.chat_id == chat_id,
            col(BindAttempt.ok).is_(False),
            BindAttempt.at > now - timedelta(hours=1),
        )
    )
    return int(session.exec(query).one())


def redeem(session: Session, chat_id: int, code: str, now: datetime) -> Identity | None:
    """Bind the chat with a valid code; None for a wrong, used or expired code. Raises Throttled."""
    if failures_last_hour(session, chat_id, now) >= MAX_FAILURES_PER_HOUR:
        raise Throttled
    found = session.exec(select(OneTimeCode).where(OneTimeCode.code_hash == _digest(code))).first()
    usable = (
        found is not None
        and found.used_at is None
        and found.expires_at > now
        and _take(session, found, chat_id, now)
    )
    session.add(BindAttempt(chat_id=chat_id, at=now, ok=usable))
    if not usable or found is None:
        return None
    return bind(session, chat_id, found.role, now, unit_code=found.unit_code, province=found.province)


def _take(session: Session, found: OneTimeCode, chat_id: int, now: datetime) -> bool:
    """Mark the code used only if nobody did meanwhile: one conditional UPDATE, so two chats redeeming the
    same code at the same moment cannot both win."""
    taken = session.execute(
        update(OneTimeCode)
        .where(col(OneTimeCode.id) == found.id, col(OneTimeCode.used_at).is_(None))
        .values(used_at=now, used_by_chat=chat_id)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


def bind(
    session: Session,
    chat_id: int,
    role: str,
    now: datetime,
    *,
    unit_code: str | None = None,
    province: str | None = None,
) -> Identity:
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    lang = binding.lang if binding else language(session, chat_id)
    if binding is None:
        binding = ChatBinding(chat_id=chat_id, role=role, bound_at=now, lang=lang)
        session.add(binding)
    binding.role, binding.unit_code, binding.province, binding.bound_at = role, unit_code, province, now
    return Identity(chat_id, role, unit_code, province, lang)


def unbind(session: Session, chat_id: int) -> bool:
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is None:
        return False
    session.delete(binding)
    return True


def identity(session: Session, chat_id: int) -> Identity | None:
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is None:
        return None
    return Identity(chat_id, binding.role, binding.unit_code, binding.province, binding.lang)


def language(session: Session, chat_id: int) -> str:
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is not None:
        return binding.lang
    preference = session.get(ChatPreference, chat_id)
    return preference.lang if preference else "zh"


def set_language(session: Session, chat_id: int, lang: str) -> None:
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is not None:
        binding.lang = lang
    preference = session.get(ChatPreference, chat_id) or ChatPreference(chat_id=chat_id)
    preference.lang = lang
    session.add(preference)


def chats_for_unit(session: Session, unit_code: str) -> list[ChatBinding]:
    query = select(ChatBinding).where(ChatBinding.role == "emitter", ChatBinding.unit_code == unit_code)
    return list(session.exec(query))


def officer_chats(session: Session, province: str) -> list[ChatBinding]:
    """Officers of the province and national officers ("*")."""
    query = select(ChatBinding).where(
        ChatBinding.role == "officer", col(ChatBinding.province).in_([province, "*"])
    )
    return list(session.exec(query))


def all_officer_chats(session: Session) -> list[ChatBinding]:
    """Every officer bound in a chat, of every province."""
    return list(session.exec(select(ChatBinding).where(ChatBinding.role == "officer")))
