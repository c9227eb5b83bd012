"""How a unit's name or account is compared: FORMATS "Matching a row to a unit"."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# white space, and the zero-width characters names copied from web pages and Word documents carry
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


@lru_cache(maxsize=1 << 15)  # a unit's name comes back in every roster, summary and list
def name_key(name: str) -> str:
    """NFKC, then every kind of white space removed: 'Ａ公司（北京） ' and 'A公司(北京)' match.

    Normalised again after the spaces go: removing one can bring a base letter and a combining mark
    together, and the key must not change when it is computed twice.
    """
    return unicodedata.normalize("NFKC", _SPACE.sub("", unicodedata.normalize("NFKC", name)))


def account_key(account: str) -> str:
    return name_key(name_key(account).upper())
