"""Inline keyboards: rows of (label, callback data) that move between views.

Callback data is "command|arg|arg", the same words a person would type after the slash, so that a press
is answered by the very view a typed command reaches (and is checked by it: data from a chat is never
trusted). Telegram allows 64 bytes of callback data: a button that would not fit is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.chat.base import Keyboard
from bot.chat.reply import Button
from templates import label

MAX_DATA = 64
SEPARATOR = "|"
PER_ROW = 3


def data(*parts: str) -> str:
    return SEPARATOR.join(parts)


def parse(callback_data: str) -> tuple[str, tuple[str, ...]]:
    command, *args = callback_data.split(SEPARATOR)
    return command, tuple(args)


def button(key: str, lang: str, *parts: str, text: str | None = None) -> Button | None:
    payload = data(*parts)
    if len(payload.encode()) > MAX_DATA:
        return None
    return Button(text if text is not None else label("chat_button", key, lang), payload)


def rows(*groups: Iterable[Button | None]) -> Keyboard:
    built = (tuple(b for b in group if b is not None) for group in groups)
    return tuple(row for row in built if row)


def chunked(buttons: Sequence[Button | None], per_row: int = PER_ROW) -> Keyboard:
    present = [b for b in buttons if b is not None]
    return tuple(tuple(present[i : i + per_row]) for i in range(0, len(present), per_row))


def emitter_menu(lang: str) -> Keyboard:
    return rows([button("status", lang, "status"), button("deadlines", lang, "deadlines")])


def officer_menu(lang: str, province: str | None, national: bool) -> Keyboard:
    """The officer's views of `province` (None: a national officer picks it first)."""

    def b(key: str) -> Button | None:
        return button(key, lang, key, *([province] if province else []))

    menu = rows(
        [b("overview"), b("pending")],
        [b("anomalies"), b("unmatched")],
        [b("export"), b("chart")],
        [button("quarantine", lang, "quarantine"), button("deadlines", lang, "deadlines")],
    )
    if national:
        menu += rows([button("provinces", lang, "overview"), button("national", lang, "national")])
    return menu


def province_picker(command: str, provinces: Sequence[str], rest: Sequence[str] = ()) -> Keyboard:
    return chunked([button("", "", command, p, *rest, text=p) for p in provinces])


def pager(lang: str, parts: Sequence[str], page: int, pages: int) -> Keyboard:
    """◀ ▶ for a list of several pages; `parts` is the command and arguments before the page number."""
    if pages <= 1:
        return ()
    back = button("previous", lang, *parts, str(page - 1)) if page > 1 else None
    forward = button("next", lang, *parts, str(page + 1)) if page < pages else None
    return rows([back, forward])


def step_buttons(lang: str, province: str, counts: Sequence[tuple[str, int]]) -> Keyboard:
    """One button a step, with how many units are at it."""
    return rows(
        *(
            [
                button(
                    "", lang, "pending", province, step, text=f"{label('chat_step_short', step, lang)} ({n})"
                )
            ]
            for step, n in counts
        )
    )


def unit_buttons(units: Iterable[tuple[str, str]]) -> Keyboard:
    """One button a unit: its name; pressing it opens the unit's status."""
    return rows(*([button("", "", "unit", code, text=name)] for code, name in units))
