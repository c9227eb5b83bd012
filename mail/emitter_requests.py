"""What an emitter asks by mail when it sends no table: its status (查询 / 状态), or step 5's stamped
screenshot of the cancellation. The words are data (emitter_requests.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources

from sqlmodel import Session

from mail.cycles import message_cycle
from mail.mime import Walked
from mail.records import MessageKind
from mail.trust import Senders
from mail.vocab import text_key
from storage import contacts, screenshots


@dataclass(frozen=True)
class Words:
    status_query: tuple[str, ...]
    screenshot: tuple[str, ...]
    file_types: tuple[str, ...]
    file_names: tuple[str, ...]


@lru_cache(maxsize=1)
def words() -> Words:
    text = (resources.files("mail") / "emitter_requests.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    return Words(
        tuple(text_key(w) for w in raw["status_query"]["subject_words"]),
        tuple(text_key(w) for w in raw["screenshot"]["words"]),
        tuple(raw["screenshot"]["file_types"]),
        tuple(n.lower() for n in raw["screenshot"]["file_names"]),
    )


def asks_status(subject: str) -> bool:
    key = text_key(subject)
    return any(word in key for word in words().status_query)


def says_screenshot(text: str) -> bool:
    key = text_key(text)
    return any(word in key for word in words().screenshot)


def is_proof_file(filename: str | None, content_type: str) -> bool:
    """A PDF or an image: what a stamped screenshot is sent as."""
    named = (filename or "").lower().endswith(words().file_names)
    return named or content_type.lower().split(";")[0].strip() in words().file_types


def emitter_request(walked: Walked, senders: Senders) -> MessageKind | None:
    """A mail with no table that an emitter may send: its screenshot, or a question about its status.
    The configured senders' mail without a table stays what it was (refused, with the reason told)."""
    envelope = walked.envelope
    if not envelope.sender or envelope.automatic or senders.is_configured(envelope.sender):
        return None
    proofs = [a for a in walked.attachments if is_proof_file(a.filename, a.content_type)]
    named = [envelope.subject, *(a.filename or "" for a in proofs)]
    if proofs and any(says_screenshot(text) for text in named):
        return "screenshot"
    return "status_query" if asks_status(envelope.subject) else None


def file_screenshots(session: Session, message_pk: int, walked: Walked, at: datetime) -> list[int]:
    """File the mail's PDF or image against the units whose contact address on file sent it; from anyone
    else nothing is filed (and nobody is told)."""
    files = [
        (a.filename, a.content_type, a.data)
        for a in walked.attachments
        if is_proof_file(a.filename, a.content_type)
    ]
    units = contacts.units_at(session, walked.envelope.sender or "", at) if files else []
    cycle = message_cycle((), at).name
    filed = []
    for unit in units:
        screenshots.file(session, unit.id or 0, cycle, "mail", files, at, message_pk)
        filed.append(unit.id or 0)
    return filed
