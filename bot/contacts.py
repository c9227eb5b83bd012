"""Whom to call: the contacts a cycle's notice lists, read from bot/contacts.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONTACTS = Path(__file__).with_name("contacts.toml")


@dataclass(frozen=True)
class Contact:
    organisation_zh: str
    organisation_en: str
    role_zh: str
    role_en: str
    person: str
    phones: tuple[str, ...]
    phones_en: tuple[str, ...] = ()

    def phones_in(self, lang: str) -> tuple[str, ...]:
        return self.phones_en if lang == "en" and self.phones_en else self.phones


@cache
def contacts(cycle: str) -> tuple[Contact, ...]:
    """The cycle's contacts, in the notice's order; none for a cycle the file does not list."""
    with CONTACTS.open("rb") as handle:
        listed = tomllib.load(handle).get(cycle, [])
    return tuple(
        Contact(**{**entry, "phones": tuple(entry["phones"]), "phones_en": tuple(entry.get("phones_en", ()))})
        for entry in listed
    )
