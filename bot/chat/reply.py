"""What a view answers, independent of the transport: HTML text, buttons, an optional file."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Literal

MAX_TEXT = 4096  # Telegram's limit for one message; the other platforms split at their own
_TAG = re.compile(r"<[^<>]*>")


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback data: "view|arg|arg", at most 64 bytes


@dataclass(frozen=True)
class Attachment:
    kind: Literal["document", "photo"]
    data: bytes
    filename: str


@dataclass(frozen=True)
class Reply:
    text: str  # Telegram's HTML subset, every value escaped; the caption when there is an attachment
    keyboard: tuple[tuple[Button, ...], ...] = field(default=())
    attachment: Attachment | None = None


def plain_text(text: str) -> str:
    """The HTML text as a person reads it: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` characters, cut on line boundaries so that tags stay balanced."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a message: cut it, a rare last resort
            chunks, current = _flush(chunks, current), ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks, current = _flush(chunks, current), line
        else:
            current = candidate
    return _flush(chunks, current) or [""]


def _flush(chunks: list[str], current: str) -> list[str]:
    return [*chunks, current] if current.strip() else chunks
