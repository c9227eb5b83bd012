"""Unified social credit codes (统一社会信用代码, GB 32100-2015): normalisation and the check character."""

from __future__ import annotations

import operator
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CODE_LENGTH = 18

_MAX_PASSES = 8
_VALUES = {char: value for value, char in enumerate(ALPHABET)}


def normalize_code(raw: str) -> str:
    """NFKC (full-width letters and digits), all white space removed, upper case."""
    if raw.isascii() and raw.isalnum() and raw == raw.upper():
        return raw  # as almost every code is written: NFKC and upper case leave it as it is
    code = raw
    # Each pass can expose work for the next (NFKC can yield spaces, upper-casing can denormalise):
    # repeat until nothing changes so that normalising twice is the same as once.
    for _ in range(_MAX_PASSES):
        folded = "".join(unicodedata.normalize("NFKC", code).split()).upper()
        if folded == code:
            break
        code = folded
    return code


def check_character(first17: str) -> str:
    """The 18th character for the first 17; ValueError when they are not 17 characters of the alphabet."""
    body = normalize_code(first17)
    if len(body) != CODE_LENGTH - 1:
        raise ValueError(f"统一社会信用代码本体应为 17 位，实际为 {len(body)} 位：{first17!r}")
    bad = sorted(set(body) - _VALUES.keys())
    if bad:
        raise ValueError(f"统一社会信用代码含有不允许的字符 {''.join(bad)}：{first17!r}")
    return _check(body)


def _check(body: str) -> str:
    """The check character of 17 characters of the alphabet."""
    total = sum(map(operator.mul, map(_VALUES.__getitem__, body), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_code(raw: str) -> bool:
    code = normalize_code(raw)
    if len(code) != CODE_LENGTH or not _VALUES.keys() >= set(code):
        return False
    return _check(code[:-1]) == code[-1]


def make_code(first17: str) -> str:
    body = normalize_code(first17)
    return body + check_character(body)
