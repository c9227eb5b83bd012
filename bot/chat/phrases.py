"""Reading what people type: phrases that mean a command (bot/chat/phrases.toml), and the command a
mistyped one most likely meant."""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PHRASES = Path(__file__).with_name("phrases.toml")
ENDINGS = "?？!！。.~～"
MAX_TYPOS = 2


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().strip().rstrip(ENDINGS)
    return "".join(folded.split())


@cache
def _table() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """exact phrase -> command; (contained phrase, command), longest first."""
    with PHRASES.open("rb") as handle:
        raw = tomllib.load(handle)
    exact = {normalise(p): command for command, phrases in raw["exact"].items() for p in phrases}
    contained = [(normalise(p), command) for command, phrases in raw["contains"].items() for p in phrases]
    return exact, tuple(sorted(contained, key=lambda pair: -len(pair[0])))


def command_for(text: str) -> str | None:
    """The command a plain message asks for, or None."""
    key = normalise(text)
    if not key:
        return None
    exact, contained = _table()
    if key in exact:
        return exact[key]
    return next((command for phrase, command in contained if phrase in key), None)


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def nearest_command(typed: str, commands: Iterable[str]) -> str | None:
    """The one command closest to a mistyped one, when it is close enough to be meant; else None."""
    word = typed.lstrip("/").split("@")[0].lower()
    if not word:
        return None
    scored = sorted((distance(word, c), c) for c in commands)
    best, runner_up = scored[0], scored[1] if len(scored) > 1 else None
    close = best[0] <= min(MAX_TYPOS, len(word) // 2)
    unique = runner_up is None or runner_up[0] > best[0]
    return best[1] if close and unique else None
