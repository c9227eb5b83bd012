"""The README's configuration section lists every key the settings model reads, each with its default."""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
# Defaults that depend on the installation, and how the README writes them.
INSTALLED = {"imap.id": '{name = "ccerbot", version = "<installed version>"}'}
UNSET, REQUIRED = "unset", "required"


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The settings model a field holds (directly, optionally or as a list) and whether it is a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found, listed = _model_in(arg)
            if found is not None:
                return found, listed
    if origin is list and args:
        found, _ = _model_in(args[0])
        return found, found is not None
    return None, False


def model_keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str | object]]:
    """(dotted key, default): the README's spelling for `unset` and `required`, else the default value."""
    for name, field in model.model_fields.items():
        inner, listed = _model_in(field.annotation)
        if inner is not None and inner is not SecretStr:
            yield from model_keys(inner, f"{prefix}{name}{'[]' if listed else ''}.")
            continue
        key = prefix + name
        if key in INSTALLED:
            yield key, INSTALLED[key]
        elif field.is_required():
            yield key, REQUIRED
        else:
            default = field.get_default(call_default_factory=True)
            yield key, UNSET if default is None else default


def readme_keys() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            rows[cells[0].strip("`")] = cells[1].strip("`")
    return rows


def _value(cell: str) -> object:
    if cell in (UNSET, REQUIRED):
        return cell
    return tomllib.loads(f"v = {cell}")["v"]


def test_every_key_is_listed_and_nothing_else() -> None:
    assert sorted(readme_keys()) == sorted(key for key, _ in model_keys(Settings))


def test_every_default_is_the_models() -> None:
    listed = readme_keys()
    for key, default in model_keys(Settings):
        cell = listed.get(key, "")
        if key in INSTALLED:
            assert cell == default, key
        else:
            assert _value(cell) == default, key


def test_the_listing_walks_nested_sections() -> None:
    keys = dict(model_keys(Settings))
    assert keys["imap.host"] == REQUIRED and keys["imap.port"] == 993 and keys["smtp.port"] == 465
    assert keys["officers[].province"] == REQUIRED and keys["telegram.base_file_url"] == UNSET
    assert keys["senders.ncsc"] == Settings().senders.ncsc
