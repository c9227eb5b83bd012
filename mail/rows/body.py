"""One body row, read field by field, and which rows below the header are records.

Empty, total and note rows, and the header repeated (a second page), are no records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from compliance.creditcode import ALPHABET, CODE_LENGTH, is_valid_code, normalize_code
from mail.classify import province_from_text
from mail.records import RowError
from mail.rows.header import Header
from mail.values import MAX_TONNES, Cell, clean_text, parse_amount, show
from mail.vocab import Vocab, text_key, vocab

T = TypeVar("T")


_UNREAD = object()  # a text not yet asked for (None is a blank cell's)
RowKey = tuple[int, tuple[Cell, ...], tuple[type, ...]]


@dataclass
class BodyRow:
    """One body row, read field by field; every problem found is kept for the row's error."""

    number: int  # 1-based, as Excel shows it
    cells: list[Cell]
    header: Header
    key: RowKey  # the header's token, the cells and their types: the same key reads the same
    problems: list[str] = field(default_factory=list)
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)

    def cell(self, name: str) -> Cell:
        col = self.header.columns.get(name)
        if col is None:
            return None
        try:
            return self.cells[col]
        except IndexError:  # a row shorter than its header
            return None

    def label(self, name: str) -> str:
        return self.header.labels.get(name) or vocab().labels.get(name, name)

    def has(self, name: str) -> bool:
        return name in self.header.columns

    def text(self, name: str) -> str | None:
        text = self._texts.get(name, _UNREAD)  # a row's name and code are asked for by several checks
        if text is _UNREAD:
            text = self._texts[name] = clean_text(self.cell(name))
        return text  # type: ignore[return-value]

    def problem(self, reason: str) -> None:
        self.problems.append(reason)

    def error(self) -> RowError:
        return RowError(self.number, f"第{self.number}行：" + "；".join(self.problems))

    def amount(self, name: str, *, required: bool) -> int | None:
        cell = self.cell(name)
        if type(cell) is int and 0 <= cell <= MAX_TONNES and name not in self.header.ten_thousand:
            return cell  # as almost every amount is written: whole tonnes, nothing to convert or check
        if required and not self.has(name):
            self.problem(f"表中没有{self.label(name)}列")
            return None
        try:
            value = parse_amount(cell, ten_thousand=name in self.header.ten_thousand)
        except ValueError as exc:
            self.problem(f"{self.label(name)} {exc}")
            return None
        if value is None and required:
            self.problem(f"{self.label(name)}为空")
        if value is not None and value < 0:
            self.problem(f"{self.label(name)} {show(cell)} 为负数")
            return None
        return value

    def code(self) -> str | None:
        text = self.text("code")
        if text is None:
            return None
        code, wrong = _checked_code(text)
        if wrong is not None:
            self.problem(f"{self.label('code')} {wrong}")
        return code

    def status(self, name: str, meanings: dict[str, T], what: str = "状态") -> T | None:
        text = self.text(name)
        if text is None:
            return None
        key = text_key(text)
        if key not in meanings:
            self.problem(f"{self.label(name)} {show(text)} 不是可识别的{what}")
            return None
        return meanings[key]

    def province(self) -> str | None:
        # A cell that names no province (a city, a district) says nothing of it: the sender's applies.
        text = self.text("province")
        return None if text is None else province_from_text(text)

    def optional(self, name: str, parse: Callable[[Cell], T]) -> T | None:
        # An optional cell that cannot be read is left out rather than rejecting the row.
        try:
            return parse(self.cell(name))
        except ValueError:
            return None

    def identity(self, name_field: str) -> tuple[str | None, str | None]:
        name, code = self.text(name_field), self.code()
        if name is None and code is None:
            self.problem(f"{self.label(name_field)}和{self.label('code')}均为空")
        return name, code


@lru_cache(maxsize=1 << 14)  # a unit's code comes back in every roster, summary and list
def _checked_code(text: str) -> tuple[str, str | None]:
    """The code normalised, and what is wrong with it (after the column's label), if anything."""
    code = normalize_code(text)
    if is_valid_code(code):
        return code, None
    bad = "".join(sorted({char for char in code if char not in ALPHABET}))
    if len(code) != CODE_LENGTH:
        return code, f"{show(text)} 长度应为{CODE_LENGTH}位，实为{len(code)}位"
    if bad:
        return code, f"{code} 含有不允许的字符 {bad}"
    return code, f"{code} 校验位错误"


def body_rows(rows: list[list[Cell]], header: Header) -> Iterator[BodyRow]:
    words = vocab()
    ignored = {col for name, col in header.columns.items() if name in words.ignored}
    columns = set(header.columns.values())
    data_cols = columns - ignored
    labels = [(col, header.labels[name]) for name, col in header.columns.items()]
    after_note = False
    for offset, cells in enumerate(rows[header.body_start :]):
        key = (header.token, tuple(cells), tuple(map(type, cells)))  # TRUE equals 1, but is no amount
        if key in _RECORDS:  # a record before, with more than one cell: a note above it changes nothing
            yield BodyRow(header.body_start + offset + 1, cells, header, key)
            continue
        filled = _filled(cells, words.blank_marks)
        if not any(col in data_cols or col not in columns for col, _, _ in filled):
            continue  # empty, or only a pre-filled 序号
        first = _first_key(filled)
        note = first.startswith(words.note_prefixes)
        if note or _is_total(words, filled, first) or (after_note and len(filled) == 1):
            after_note = after_note or note
            continue
        if _repeats_header(cells, labels, words.min_fields):
            continue  # the header again (a second page, a second block)
        if len(filled) > 1 and header.kind in SNAPSHOT_KINDS:
            key = _remember(key)
        yield BodyRow(header.body_start + offset + 1, cells, header, key)


# Rows found to be records, by header and cells: a full snapshot or list brings most of them back, and
# the checks above are a third of reading them. Kept for the process, like mail.rows.readings; a daily
# list's rows are new each day, and are not kept.
SNAPSHOT_KINDS = frozenset({"roster", "weekly_summary"})
_RECORDS: set[RowKey] = set()
_TYPES: dict[tuple[type, ...], tuple[type, ...]] = {}  # a table's rows mostly share one: kept once
MAX_RECORDS = 50_000  # a season of 10,000 units has 22,000 different rows of rosters and summaries


def _remember(key: RowKey) -> RowKey:
    """The key kept, its types shared with the rows that have the same."""
    if len(_RECORDS) >= MAX_RECORDS:
        forget_records()
    token, cells, types = key
    kept = (token, cells, _TYPES.setdefault(types, types))
    _RECORDS.add(kept)
    return kept


def forget_records() -> None:
    _RECORDS.clear()
    _TYPES.clear()


Filled = list[tuple[int, Cell, str | None]]  # (column, cell, its text key when it is text)


def _filled(cells: list[Cell], blank_marks: frozenset[str]) -> Filled:
    """The row's cells that are not blank (mail.values.is_blank), each text's key worked out once."""
    filled: Filled = []
    for col, cell in enumerate(cells):
        if cell is None:
            continue
        if isinstance(cell, str):
            key = text_key(cell)
            if key and key not in blank_marks:
                filled.append((col, cell, key))
        else:
            filled.append((col, cell, None))
    return filled


def _repeats_header(cells: list[Cell], labels: list[tuple[int, str]], enough: int) -> bool:
    same = 0
    for col, label in labels:
        cell = cells[col] if col < len(cells) else None
        # its first character first: most cells are a unit's name or a number, nothing like the label
        same += isinstance(cell, str) and label[:1] in cell and " ".join(cell.split()) == label
    return same >= enough


def _first_key(filled: Filled) -> str:
    """The first filled cell's key, to tell notes and totals by how they start (a number as it shows)."""
    if not filled:
        return ""
    _, cell, key = filled[0]
    return key if key is not None else text_key(show(cell))


def _is_total(words: Vocab, filled: Filled, first: str) -> bool:
    markers = words.total_markers
    return first.startswith(markers) or any(key.rstrip(":") in markers for _, _, key in filled if key)
