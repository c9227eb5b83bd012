"""What a message is about, from its subject or a table's title: its kind and its province."""

from __future__ import annotations

from functools import lru_cache

from mail.records import MessageKind
from mail.vocab import text_key, vocab


def kind_from_subject(subject: str) -> MessageKind | None:
    key = text_key(subject)
    return next((rule.kind for rule in vocab().subject_rules if rule.holds(key)), None)


@lru_cache(maxsize=1 << 14)
def province_from_text(text: str) -> str | None:
    """The province named first in a text, by its full or short name (广东 → 广东省)."""
    key = text_key(text)
    best: tuple[int, int, str] | None = None  # (position, -length, name): earliest, then longest
    for form, name in vocab().provinces:
        at = key.find(form)
        if at >= 0 and (best is None or (at, -len(form)) < best[:2]):
            best = (at, -len(form), name)
    return None if best is None else best[2]
