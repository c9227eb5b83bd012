"""Who a chat is: bindings, one-time codes (stored hashed, single-use, expiring) and guess throttling.

A chat is a Peer (platform, id as text); a plain number is taken for a Telegram chat id. One person may be
bound on several platforms: a row on each, each answered alike."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, update
from sqlmodel import Session, col, func, select

from storage.models import BindAttempt, ChatBinding, ChatPreference, OneTimeCode
from storage.peer import Peer, Platform, as_peer

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
CODE_LENGTH = 8
CODE_TTL = timedelta(hours=24)
MAX_FAILURES_PER_HOUR = 5


class Throttled(Exception):
    """Too many wrong codes from one chat in the last hour."""


@dataclass(frozen=True)
class Identity:
    peer: Peer
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


def _of(peer: Peer) -> Any:
    """The binding row of a chat, as a WHERE clause."""
    return and_(col(ChatBinding.platform) == peer.platform, col(ChatBinding.chat_id) == peer.id)


def _binding(session: Session, peer: Peer) -> ChatBinding | None:
    return session.exec(select(ChatBinding).where(_of(peer))).first()


def attempt(peer: Peer, now: datetime, ok: bool) -> BindAttempt:
    """A try at binding, counted against the chat's guesses."""
    return BindAttempt(platform=peer.platform, chat_id=peer.id, at=now, ok=ok)


def failures_last_hour(session: Session, chat: Peer | int, now: datetime) -> int:
    peer = as_peer(chat)
    query = (
        select(func.count())
        .select_from(BindAttempt)
        .where(
            col(BindAttempt.platform) == peer.platform,
            col(BindAttempt.chat_id) == peer.id,
            col(BindAttempt.ok).is_(False),
            BindAttempt.at > now - timedelta(hours=1),
        )
    )
    return int(session.exec(query).one())


def redeem(session: Session, chat: Peer | int, code: str, now: datetime) -> Identity | None:
    """Bind the chat with a valid code; None for a wrong, used or expired code. Raises Throttled."""
    peer = as_peer(chat)
    if failures_last_hour(session, peer, now) >= MAX_FAILURES_PER_HOUR:
        raise Throttled
    found = session.exec(select(OneTimeCode).where(OneTimeCode.code_hash == _digest(code))).first()
    usable = (
        found is not None
        and found.used_at is None
        and found.expires_at > now
        and _take(session, found, peer, now)
    )
    session.add(attempt(peer, now, usable))
    if not usable or found is None:
        return None
    return bind(session, peer, found.role, now, unit_code=found.unit_code, province=found.province)


def _take(session: Session, found: OneTimeCode, peer: Peer, now: datetime) -> bool:
    """Mark the code used only if nobody did meanwhile: one conditional UPDATE, so two chats redeeming the
    same code at the same moment cannot both win."""
    taken = session.execute(
        update(OneTimeCode)
        .where(col(OneTimeCode.id) == found.id, col(OneTimeCode.used_at).is_(None))
        .values(used_at=now, used_by_chat=str(peer))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


def bind(
    session: Session,
    chat: Peer | int,
    role: str,
    now: datetime,
    *,
    unit_code: str | None = None,
    province: str | None = None,
) -> Identity:
    peer = as_peer(chat)
    binding = _binding(session, peer)
    lang = binding.lang if binding else language(session, peer)
    if binding is None:
        binding = ChatBinding(platform=peer.platform, chat_id=peer.id, role=role, bound_at=now, lang=lang)
        session.add(binding)
    binding.role, binding.unit_code, binding.province, binding.bound_at = role, unit_code, province, now
    return Identity(peer, role, unit_code, province, lang)


def unbind(session: Session, chat: Peer | int) -> bool:
    binding = _binding(session, as_peer(chat))
    if binding is None:
        return False
    session.delete(binding)
    return True


def identity(session: Session, chat: Peer | int) -> Identity | None:
    peer = as_peer(chat)
    binding = _binding(session, peer)
    if binding is None:
        return None
    return identity_of(binding)


def identity_of(binding: ChatBinding) -> Identity:
    peer = Peer(cast(Platform, binding.platform), binding.chat_id)
    return Identity(peer, binding.role, binding.unit_code, binding.province, binding.lang)


def language(session: Session, chat: Peer | int) -> str:
    peer = as_peer(chat)
    binding = _binding(session, peer)
    if binding is not None:
        return binding.lang
    preference = session.get(ChatPreference, (peer.platform, peer.id))
    return preference.lang if preference else "zh"


def set_language(session: Session, chat: Peer | int, lang: str) -> None:
    peer = as_peer(chat)
    binding = _binding(session, peer)
    if binding is not None:
        binding.lang = lang
    preference = session.get(ChatPreference, (peer.platform, peer.id)) or ChatPreference(
        platform=peer.platform, chat_id=peer.id
    )
    preference.lang = lang
    session.add(preference)


def chats_for_unit(session: Session, unit_code: str) -> list[ChatBinding]:
    """The unit's chats on every platform (each row says its `.platform`)."""
    query = select(ChatBinding).where(ChatBinding.role == "emitter", ChatBinding.unit_code == unit_code)
    return list(session.exec(query))


def officer_chats(session: Session, province: str) -> list[ChatBinding]:
    """Officers of the province and national officers ("*"), on every platform (see `.platform`)."""
    query = select(ChatBinding).where(
        ChatBinding.role == "officer", col(ChatBinding.province).in_([province, "*"])
    )
    return list(session.exec(query))


def all_officer_chats(session: Session) -> list[ChatBinding]:
    """Every officer bound in a chat, of every province."""
    return list(session.exec(select(ChatBinding).where(ChatBinding.role == "officer")))
