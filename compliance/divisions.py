"""The province a credit code was issued in: its administrative division (characters 3–8, GB 32100)."""

from __future__ import annotations

import tomllib
from functools import cache, lru_cache
from importlib import resources

from compliance.creditcode import normalize_code


@cache
def _table() -> tuple[dict[str, str], dict[str, str]]:
    raw = tomllib.loads(resources.files("compliance").joinpath("divisions.toml").read_text(encoding="utf-8"))
    return dict(raw["provinces"]), dict(raw["divisions"])


@lru_cache(maxsize=1 << 15)  # every row of every roster, summary and list asks for its unit's code
def province_of_code(code: str | None) -> str | None:
    """The province the code's division names; None when the code names none (or is no code)."""
    if not code:
        return None
    division = normalize_code(code)[2:8]
    if len(division) != 6 or not division.isdigit():
        return None
    provinces, divisions = _table()
    return divisions.get(division) or provinces.get(division[:2])
