"""Every pattern the intake runs on text from outside does work in proportion to that text.

Each pattern is run by a backtracking matcher that counts its steps (tests/mail/backtrack.py), on
inputs built from the pattern's own pieces, repeated n times and then 10n times: the steps may grow
about tenfold, never a hundredfold. Patterns are found where they live (module constants of `mail`, the
vocabulary's patterns), and a source check makes sure no pattern hides anywhere else.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mail
from mail.vocab import vocab
from tests.mail.backtrack import Budget, alphabet, search_steps

SMALL, LARGE = 30, 300
GROWTH = 10 * 1.3  # a linear count grows tenfold; a little slack for what does not repeat
MAIL = Path(mail.__file__).parent


def _module_patterns() -> list[tuple[str, re.Pattern[Any]]]:
    found = []
    for info in pkgutil.walk_packages(mail.__path__, "mail."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{info.name}.{name}", value))
    return found


def _vocab_patterns() -> list[tuple[str, re.Pattern[Any]]]:
    found = []
    words = vocab()
    for item in dataclasses.fields(words):
        value = getattr(words, item.name)
        stack = [value]
        while stack:
            current = stack.pop()
            if isinstance(current, re.Pattern):
                found.append((f"vocab.{item.name}:{current.pattern}", current))
            elif isinstance(current, tuple | list | frozenset):
                stack.extend(current)
    return found


PATTERNS = _module_patterns() + _vocab_patterns()


def test_the_patterns_are_found() -> None:
    names = {name for name, _ in PATTERNS}
    assert "mail.mime._MESSAGE_ID" in names
    assert any(name.startswith("vocab.year_prefix") for name in names)


def _count(pattern: re.Pattern[Any], prefix: str, seed: str, suffix: str) -> tuple[int, int | None]:
    def text(n: int) -> str:
        return prefix + seed * n + suffix

    small = search_steps(pattern, text(SMALL), 10**8)
    try:
        large: int | None = search_steps(pattern, text(LARGE), int(small * GROWTH) + 200)
    except Budget:
        large = None
    return small, large


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[name for name, _ in PATTERNS])
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@example(data=None)
def test_steps_grow_with_the_input_not_faster(name: str, pattern: re.Pattern[Any], data: Any) -> None:
    pieces = alphabet(pattern)
    if data is None:  # the pieces one by one, behind each other piece: "@" then "aaaa…"
        cases = [(p, s, "") for p in ["", *pieces] for s in pieces]
    else:
        piece = st.sampled_from(pieces)
        seed = "".join(data.draw(st.lists(piece, min_size=1, max_size=3), label="seed"))
        prefix = "".join(data.draw(st.lists(piece, max_size=2), label="prefix"))
        suffix = "".join(data.draw(st.lists(piece, max_size=2), label="suffix"))
        cases = [(prefix, seed, suffix)]
    for prefix, seed, suffix in cases:
        small, large = _count(pattern, prefix, seed, suffix)
        assert large is not None, (
            f"{name}: {small} steps on {prefix!r}+{seed!r}×{SMALL}, more than {GROWTH:g}× that on ×{LARGE}"
        )


# ---- no pattern anywhere else ------------------------------------------------------------------

_RUNNERS = {"match", "search", "fullmatch", "findall", "finditer", "sub", "subn", "split"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_no_pattern_is_written_inside_a_function() -> None:
    """A pattern compiled at module level is one the step counts above have run."""
    hidden = []
    for path in sorted(MAIL.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_level = {id(node) for stmt in tree.body for node in ast.walk(stmt)} - {
            id(node)
            for stmt in tree.body
            if isinstance(stmt, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
            for node in ast.walk(stmt)
        }
        for call in _calls(tree):
            func = call.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                continue
            if func.value.id != "re":
                continue
            if func.attr in _RUNNERS or (func.attr == "compile" and id(call) not in module_level):
                if path.name == "vocab.py" and func.attr == "compile":
                    continue  # the vocabulary's own patterns, collected from vocab() above
                hidden.append(f"{path.relative_to(MAIL.parent)}:{call.lineno} re.{func.attr}")
    assert hidden == []
