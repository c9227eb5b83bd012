"""The words of the intake tables, loaded from headers.toml, and how a header text is matched to a field."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources
from typing import Any, cast

from compliance.cycle import SECTORS
from mail.records import ApplicationResult, CcerKind, MessageKind, OperationState

_BRACKETS = str.maketrans("[]【】〔〕〖〗", "()()()()")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


@lru_cache(maxsize=1 << 16)  # the same headers, words and names come back in every message
def text_key(text: str) -> str:
    """NFKC, no white space, Latin letters case-folded: how every word of the vocabulary is compared."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


@dataclass(frozen=True)
class KindRule:
    kind: MessageKind
    any_of: frozenset[str]
    all_of: frozenset[str]
    fallback: bool
    required_amount: str

    def applies(self, fields: set[str]) -> bool:
        return self.all_of <= fields and (not self.any_of or bool(self.any_of & fields))


@dataclass(frozen=True)
class SubjectRule:
    """A kind told by words in the subject: every word of all_of, and one of any_of when there are any."""

    kind: MessageKind
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]

    def holds(self, key: str) -> bool:
        return all(word in key for word in self.all_of) and (
            not self.any_of or any(word in key for word in self.any_of)
        )


@dataclass(frozen=True)
class HeaderMatch:
    field: str
    ten_thousand: bool
    year: str | None = None  # the obligation the header names ("2021", "2019-2020"), if it names one


@dataclass(frozen=True)
class Vocab:
    synonyms: dict[MessageKind, dict[str, str]]  # kind → header key → field
    ignored: frozenset[str]
    labels: dict[str, str]
    amount_fields: frozenset[str]
    second_column: dict[str, str]
    kind_rules: tuple[KindRule, ...]
    tonne_units: frozenset[str]
    ten_thousand_units: frozenset[str]
    year_prefix: re.Pattern[str]
    year_pattern: re.Pattern[str]
    year_fields: frozenset[str]
    year_kinds: frozenset[str]
    scan_rows: int
    min_fields: int
    min_suffix_len: int
    result_words: dict[str, ApplicationResult]
    complied_words: dict[str, bool]
    sector_words: dict[str, str]
    operation_words: dict[str, OperationState]
    ccer_kind_words: dict[str, CcerKind]
    blank_marks: frozenset[str]
    total_markers: tuple[str, ...]
    note_prefixes: tuple[str, ...]
    snapshot_markers: tuple[str, ...]
    range_separators: tuple[str, ...]
    provinces: tuple[tuple[str, str], ...]  # (key of a form, canonical name), longest form first
    subject_rules: tuple[SubjectRule, ...]
    # every header text seen so far: the same dozen headers come back in every message
    _matched: dict[tuple[str, str], HeaderMatch | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def kinds(self) -> tuple[MessageKind, ...]:
        return tuple(rule.kind for rule in self.kind_rules)

    def match_header(self, text: str, kind: MessageKind) -> HeaderMatch | None:
        """The field a header cell names in a table of this kind, and whether it is in 万吨."""
        if (text, kind) not in self._matched:
            if len(self._matched) > 1 << 16:
                self._matched.clear()
            self._matched[(text, kind)] = self._match_header(text, kind)
        return self._matched[(text, kind)]

    def _match_header(self, text: str, kind: MessageKind) -> HeaderMatch | None:
        variants, ten_thousand = self.header_variants(text)
        table = self.synonyms.get(kind, {})
        found = next((table[key] for key in variants if key in table), None)
        if found is None:
            found = next((f for key in variants if (f := self._by_suffix(key, table)) is not None), None)
        if found is None:
            return None
        year = self.header_year(text) if kind in self.year_kinds and found in self.year_fields else None
        return HeaderMatch(found, ten_thousand, year)

    def header_year(self, text: str) -> str | None:
        """The obligation a header's leading year names: "2021年度…" → "2021", "2019-2020年度…" likewise."""
        match = self.year_pattern.match(text_key(text).translate(_BRACKETS))
        if match is None:
            return None
        return match.group(1) if match.group(2) is None else f"{match.group(1)}-{match.group(2)}"

    def obligation(self, text: str) -> str | None:
        """A cell that is only a year or a span ("2021", "2021年度", "2019-2020"); None otherwise."""
        key = text_key(text).translate(_BRACKETS)
        match = self.year_pattern.match(key)
        if match is None or match.end() != len(key):
            return None
        return match.group(1) if match.group(2) is None else f"{match.group(1)}-{match.group(2)}"

    def _by_suffix(self, key: str, table: dict[str, str]) -> str | None:
        # A Chinese header names its thing last (已确认抵销量, 企业统一社会信用代码):
        # match the longest ending.
        best = max(
            (syn for syn in table if len(syn) >= self.min_suffix_len and key.endswith(syn)),
            key=len,
            default=None,
        )
        return None if best is None else table[best]

    def header_variants(self, text: str) -> tuple[list[str], bool]:
        """The keys a header text is looked up by (strictest first), and whether it says 万吨."""
        key = self.year_prefix.sub("", text_key(text).translate(_BRACKETS))
        ten_thousand = False
        for unit in _BRACKETED.findall(key):
            ten_thousand = ten_thousand or unit in self.ten_thousand_units
        key = _BRACKETED.sub(lambda m: "" if self._is_unit(m.group(1)) else m.group(0), key)
        key, trailing = self._strip_trailing_unit(key)
        ten_thousand = ten_thousand or trailing
        variants = [key, key.replace("(", "").replace(")", ""), _BRACKETED.sub("", key)]
        return [v for i, v in enumerate(variants) if v and v not in variants[:i]], ten_thousand

    def _is_unit(self, word: str) -> bool:
        return word in self.tonne_units or word in self.ten_thousand_units

    def _strip_trailing_unit(self, key: str) -> tuple[str, bool]:
        # "申请抵销量/万吨", "申请抵销量，万吨"; units of two or more characters only,
        # so that a header ending in a one-character unit word is left alone
        for unit in sorted(self.tonne_units | self.ten_thousand_units, key=len, reverse=True):
            if len(unit) >= 2 and key.endswith(unit) and len(key) > len(unit):
                return key[: -len(unit)].rstrip("/,:;-"), unit in self.ten_thousand_units
        return key, False


@cache
def vocab() -> Vocab:
    raw = tomllib.loads(resources.files("mail").joinpath("headers.toml").read_text(encoding="utf-8"))
    return _build(raw)


def _build(raw: dict[str, Any]) -> Vocab:
    header = raw["header"]
    rules = tuple(_kind_rule(item) for item in raw["kinds"])
    year_prefix = re.compile(header["year_prefix"])
    statuses = raw["status"]
    units = raw["units"]
    partial = Vocab(
        synonyms={},
        ignored=frozenset(raw["ignored"]["fields"]),
        labels=dict(raw["labels"]),
        amount_fields=frozenset(raw["amounts"]["fields"]),
        second_column=dict(raw["second_column"]),
        kind_rules=rules,
        tonne_units=frozenset(text_key(u) for u in units["tonne"]),
        ten_thousand_units=frozenset(text_key(u) for u in units["ten_thousand"]),
        year_prefix=year_prefix,
        year_pattern=re.compile(header["year_pattern"]),
        year_fields=frozenset(header["year_fields"]),
        year_kinds=frozenset(header["year_kinds"]),
        scan_rows=int(header["scan_rows"]),
        min_fields=int(header["min_fields"]),
        min_suffix_len=int(header["min_suffix_len"]),
        result_words=_words(statuses["result"], {k: k for k in ("confirmed", "rejected", "pending")}),
        complied_words=_words(statuses["complied"], {"yes": True, "no": False}),
        sector_words=_words(statuses["sector"], {k: k for k in SECTORS}),
        operation_words=_words(statuses["operation"], {k: k for k in ("held", "used", "withdrawn")}),
        ccer_kind_words=_words(statuses["ccer_kind"], {k: k for k in ("old", "new")}),
        blank_marks=frozenset(text_key(m) for m in raw["rows"]["blank_marks"]),
        total_markers=tuple(text_key(m) for m in raw["rows"]["total_markers"]),
        note_prefixes=tuple(text_key(m) for m in raw["rows"]["note_prefixes"]),
        snapshot_markers=tuple(text_key(m) for m in raw["title"]["snapshot_markers"]),
        range_separators=tuple(text_key(m) for m in raw["ranges"]["separators"]),
        provinces=_provinces(raw["provinces"]),
        subject_rules=tuple(_subject_rule(r) for r in raw["subject_rules"]),
    )
    synonyms = {rule.kind: _synonym_table(partial, raw["fields"], rule.kind) for rule in rules}
    return replace(partial, synonyms=synonyms)


def _kind_rule(item: dict[str, Any]) -> KindRule:
    return KindRule(
        kind=cast(MessageKind, item["kind"]),
        any_of=frozenset(item.get("any_of", [])),
        all_of=frozenset(item.get("all_of", [])),
        fallback=bool(item.get("fallback", False)),
        required_amount=item["required_amount"],
    )


def _subject_rule(item: dict[str, Any]) -> SubjectRule:
    words = {key: tuple(text_key(w) for w in item.get(key, [])) for key in ("all_of", "any_of")}
    if not words["all_of"] and not words["any_of"]:
        raise ValueError(f"subject rule for {item['kind']} names no word")
    return SubjectRule(cast(MessageKind, item["kind"]), words["all_of"], words["any_of"])


def _words(table: dict[str, list[str]], meaning: dict[str, Any]) -> dict[str, Any]:
    return {text_key(word): meaning[group] for group, words in table.items() for word in words}


def _synonym_table(partial: Vocab, fields: dict[str, dict[str, list[str]]], kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for section in ("common", kind):
        for name, words in fields.get(section, {}).items():
            for word in words:
                variants, _ = partial.header_variants(word)
                table.setdefault(variants[0], name)
    return table


def _provinces(table: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
    forms = [(text_key(form), name) for name, others in table.items() for form in (name, *others)]
    return tuple(sorted(forms, key=lambda pair: len(pair[0]), reverse=True))
