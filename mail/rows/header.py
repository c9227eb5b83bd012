"""The header row of a table: which row it is, which column holds which field, and the table's kind.

A header may take two rows ("序列号" over "起" / "止"); a roster may give one column per obligation
("2021年度应清缴量"), whose field is `year_field(name, obligation)`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

from mail.records import MessageKind
from mail.values import Cell, is_blank
from mail.vocab import Vocab, vocab


@dataclass(frozen=True)
class Header:
    index: int  # 0-based row of the header (its first row when it takes two)
    body_start: int  # 0-based first row below the header
    kind: MessageKind
    columns: dict[str, int]
    labels: dict[str, str]  # field → the header text as the sheet shows it
    ten_thousand: frozenset[str]

    @cached_property
    def token(self) -> int:
        """The same number for every header that reads rows alike (same kind, fields, columns, labels and
        万吨 columns): what a row's reading is kept under, beside its cells."""
        signature = (self.kind, tuple(self.columns.items()), tuple(self.labels.items()), self.ten_thousand)
        if signature not in _TOKENS:
            if len(_TOKENS) >= _MAX_TOKENS:  # numbers are never given twice: old readings stay their own
                _TOKENS.clear()
            _TOKENS[signature] = next(_NUMBERS)
        return _TOKENS[signature]


_TOKENS: dict[tuple[object, ...], int] = {}
_NUMBERS = itertools.count()
_MAX_TOKENS = 10_000  # a header per message at most: emptied long before it weighs anything


def locate_header(rows: list[list[Cell]], *, kind_hint: MessageKind | None) -> Header | None:
    words = vocab()
    for index, row in enumerate(rows[: words.scan_rows]):
        texts = [_header_text(cell) for cell in row]
        if _field_count(words, texts) < words.min_fields:
            continue
        body_start = index + 1
        combined = _with_subheader(words, texts, rows[index + 1] if index + 1 < len(rows) else [])
        if combined is not None:
            texts, body_start = combined, index + 2
        return _header(words, texts, index, body_start, kind_hint)
    return None


def _header_text(cell: Cell) -> str | None:
    return cell if isinstance(cell, str) and not is_blank(cell) else None


def _map_texts(words: Vocab, texts: list[str | None], kind: MessageKind) -> dict[str, tuple[int, str, bool]]:
    """field → (column, header text, 万吨); the first column wins, or goes to the field's second column."""
    mapping: dict[str, tuple[int, str, bool]] = {}
    for col, text in enumerate(texts):
        match = words.match_header(text, kind) if text else None
        if match is None or text is None:
            continue
        name = match.field if match.year is None else year_field(match.field, match.year)
        if name in mapping:
            name = words.second_column.get(name, "")
        if name and name not in mapping:
            mapping[name] = (col, " ".join(text.split()), match.ten_thousand)
    return mapping


YEAR_MARK = "@"  # "allowances_due_t@2021": the field of one obligation's column


def year_field(name: str, obligation: str) -> str:
    return f"{name}{YEAR_MARK}{obligation}"


def base_field(name: str) -> str:
    return name.split(YEAR_MARK, 1)[0]


def _field_count(words: Vocab, texts: list[str | None]) -> int:
    return max(len(set(_map_texts(words, texts, kind)) - words.ignored) for kind in words.kinds)


def _with_subheader(words: Vocab, texts: list[str | None], below: list[Cell]) -> list[str | None] | None:
    """A second header row ("序列号" over "起" / "止", "申请抵销量" over "（万吨）") joined to the first."""
    if any(not is_blank(c) and not isinstance(c, str) for c in below):
        return None
    combined = list(texts) + [None] * max(0, len(below) - len(texts))
    parent: str | None = None
    joined_any = False
    for col, cell in enumerate(below):
        parent = texts[col] if col < len(texts) and texts[col] else parent  # merged across columns
        sub = _header_text(cell)
        if sub is None:
            continue
        joined = (parent or "") + sub
        if _matches_any(words, joined):
            combined[col], joined_any = joined, True
        elif _matches_any(words, sub):
            combined[col] = sub
        else:
            return None
    return combined if joined_any else None


def _matches_any(words: Vocab, text: str) -> bool:
    return any(words.match_header(text, kind) is not None for kind in words.kinds)


def _header(
    words: Vocab, texts: list[str | None], index: int, body_start: int, hint: MessageKind | None
) -> Header:
    by_kind = {kind: _map_texts(words, texts, kind) for kind in words.kinds}
    present = {base_field(name) for name in set().union(*by_kind.values())} - words.ignored
    kind = kind_from_columns(present, hint)
    mapping = by_kind.get(kind) or max(by_kind.values(), key=len)
    return Header(
        index=index,
        body_start=body_start,
        kind=kind,
        columns={name: col for name, (col, _, _) in mapping.items()},
        labels={name: label for name, (_, label, _) in mapping.items()},
        ten_thousand=frozenset(
            name for name, (_, _, tt) in mapping.items() if tt and base_field(name) in words.amount_fields
        ),
    )


def kind_from_columns(fields: set[str], hint: MessageKind | None = None) -> MessageKind:
    """The kind the columns say; the subject's kind only breaks a tie between kinds the columns allow."""
    words = vocab()
    strong = [r.kind for r in words.kind_rules if not r.fallback and r.applies(fields)]
    candidates = strong or [r.kind for r in words.kind_rules if r.fallback and r.applies(fields)]
    if not candidates:
        return "unknown"
    return hint if hint in candidates else candidates[0]
