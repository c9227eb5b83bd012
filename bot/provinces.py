"""Province names as people type them: the 31 provinces and 新疆生产建设兵团, each with its short forms.

The list is data: the [provinces] table of mail/headers.toml, which the intake reads too, so a name the
intake recognises in a subject is a name an officer can be invited for.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from mail.vocab import text_key

NATIONAL = "*"


class UnknownProvince(ValueError):
    """Not one of the provinces, said in one line with what would have been accepted."""


@cache
def _table() -> dict[str, list[str]]:
    raw = tomllib.loads(resources.files("mail").joinpath("headers.toml").read_text(encoding="utf-8"))
    return {str(name): [str(form) for form in forms] for name, forms in raw["provinces"].items()}


@cache
def _by_form() -> dict[str, str]:
    return {text_key(form): name for name, forms in _table().items() for form in (name, *forms)}


def province_names() -> list[str]:
    """The canonical names, in the order the data lists them."""
    return list(_table())


def canonical_province(text: str, national: bool = False) -> str:
    """浙江 → 浙江省, 内蒙古 → 内蒙古自治区; "*" (every province) only when `national`."""
    stripped = text.strip()
    if national and stripped == NATIONAL:
        return NATIONAL
    found = _by_form().get(text_key(stripped))
    if found is None:
        allowed = "、".join(province_names()) + ("，或 * 表示全国" if national else "")
        raise UnknownProvince(f"“{stripped}”不是省级行政区的名称；可用：{allowed}")
    return found
