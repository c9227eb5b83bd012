"""Alerts due together for one group become one digest; a digest too large for the platform is cut into as
few messages as fit, in order.

Every message opens with the same header (templates group_header): it names the digest and, when cut, the
part; and it carries the word a robot's keyword setting can match (see README), so a part never lacks it.
Texts are kept whole where they fit; a text larger than a message is cut at line ends, and a line larger
than a message between characters (never inside one: sizes are UTF-8 bytes as the platforms count them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from templates import render

Fits = Callable[[str], bool]  # whether a whole message is within the platform's size
SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Message:
    text: str
    completes: int  # how many texts are whole once this message and those before it went out


@dataclass(frozen=True)
class _Unit:
    text: str
    ends: bool  # the last piece of its text


class TooSmall(ValueError):
    """Not even one character fits beside the header: the size limit is wrong."""


def digest(texts: Sequence[str], fits: Fits, lang: str = "zh") -> list[Message]:
    """The messages that carry `texts`, each within `fits`, as few as greedy in-order packing gives."""
    if not texts:
        return []
    blocks = _blocks(texts, lang)
    parts = 1
    while True:
        # room is kept for the widest header (the last part's number); a header of fewer parts is shorter
        widest = _header(len(texts), parts, parts, lang)
        packed = _pack(blocks, widest, fits)
        if len(packed) <= parts:
            break
        parts = len(packed)
    return _numbered(packed, len(texts), lang)


def _blocks(texts: Sequence[str], lang: str) -> list[list[str]]:
    """Each text as its lines; when there are several texts, the first line numbers the text."""
    if len(texts) == 1:
        return [texts[0].split("\n")]
    count = len(texts)
    return [
        [f"{render('group_item', lang, index=i, count=count)}\n{first}", *rest]
        for i, (first, *rest) in enumerate((t.split("\n") for t in texts), 1)
    ]


def _header(count: int, part: int, parts: int, lang: str) -> str:
    return render("group_header", lang, count=count, part=part, parts=parts)


def _compose(header: str, pieces: Sequence[str]) -> str:
    return SEPARATOR.join((header, *pieces))


def _pack(blocks: Sequence[Sequence[str]], header: str, fits: Fits) -> list[list[_Unit]]:
    messages: list[list[_Unit]] = []
    current: list[_Unit] = []
    for unit in _units(blocks, header, fits):
        if current and not fits(_compose(header, [u.text for u in [*current, unit]])):
            messages.append(current)
            current = []
        current.append(unit)
    if current:
        messages.append(current)
    return messages


def _units(blocks: Sequence[Sequence[str]], header: str, fits: Fits) -> list[_Unit]:
    def alone(piece: str) -> bool:
        return fits(_compose(header, [piece]))

    units: list[_Unit] = []
    for lines in blocks:
        whole = "\n".join(lines)
        pieces = [whole] if alone(whole) else _cut(lines, alone)
        units += [_Unit(piece, ends=i == len(pieces) - 1) for i, piece in enumerate(pieces)]
    return units


def _cut(lines: Sequence[str], fits: Fits) -> list[str]:
    """Pieces of a text, each within `fits`: whole lines where they fit (a numbering line stays with the
    line it numbers, so that no part ends on a bare number)."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if fits(candidate):
            current = candidate
            continue
        if current:
            pieces.append(current)
        *whole, current = [line] if fits(line) else _cut_line(line, fits)
        pieces += whole
    return [*pieces, current] if current or not pieces else pieces


def _cut_line(line: str, fits: Fits) -> list[str]:
    if not fits(""):
        raise TooSmall("the platform's size limit leaves no room for the header")
    pieces = []
    while line:
        length = _longest_prefix(line, fits)
        pieces.append(line[:length])
        line = line[length:]
    return pieces


def _longest_prefix(line: str, fits: Fits) -> int:
    low, high = 0, len(line)  # fits(line[:low]) holds; the answer is in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if fits(line[:middle]):
            low = middle
        else:
            high = middle - 1
    if low == 0:
        raise TooSmall("the platform's size limit leaves no room for one character beside the header")
    return low


def _numbered(packed: Sequence[Sequence[_Unit]], count: int, lang: str) -> list[Message]:
    messages = []
    complete = 0
    for part, units in enumerate(packed, 1):
        complete += sum(1 for u in units if u.ends)
        header = _header(count, part, len(packed), lang)
        messages.append(Message(_compose(header, [u.text for u in units]), complete))
    return messages
