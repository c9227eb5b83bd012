"""headers.toml is data that people edit: check it hangs together."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from mail.records import MessageKind
from mail.vocab import text_key, vocab


def raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("mail").joinpath("headers.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", vocab().kinds)
def test_no_header_word_means_two_fields_in_one_kind(kind: MessageKind) -> None:
    words = vocab()
    seen: dict[str, str] = {}
    for section in ("common", kind):
        for field, synonyms in raw()["fields"].get(section, {}).items():
            for synonym in synonyms:
                key = words.header_variants(synonym)[0][0]
                assert seen.setdefault(key, field) == field, f"{synonym} is both {seen[key]} and {field}"
                match = words.match_header(synonym, kind)
                assert match is not None and match.field == field, synonym


def test_every_field_named_by_a_rule_has_synonyms_and_a_label() -> None:
    data = raw()
    fields = {f for table in data["fields"].values() for f in table}
    named = set(data["amounts"]["fields"]) | set(data["ignored"]["fields"]) | set(data["second_column"])
    for rule in data["kinds"]:
        named |= set(rule.get("any_of", [])) | set(rule.get("all_of", [])) | {rule["required_amount"]}
    assert named <= fields
    assert (fields - set(data["ignored"]["fields"])) | set(data["second_column"].values()) <= set(
        data["labels"]
    )


def test_status_words_do_not_contradict_each_other() -> None:
    for table in raw()["status"].values():
        keys = [text_key(word) for words in table.values() for word in words]
        assert len(keys) == len(set(keys))


def test_every_province_form_names_one_province() -> None:
    forms = [form for form, _ in vocab().provinces]
    assert len(forms) == len(set(forms))
    assert len({name for _, name in vocab().provinces}) == 32
