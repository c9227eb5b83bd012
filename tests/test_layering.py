"""The parts import each other only as DESIGN.md allows: compliance nothing of ours, storage only
compliance, mail never bot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"compliance", "storage", "mail", "bot", "templates"}
ALLOWED = {
    "compliance": set(),
    "storage": {"compliance"},
    "mail": {"compliance", "storage", "templates"},
}


def imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_a_part_imports_only_what_it_may(part: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_parts(path) - ALLOWED[part] - {part})
        for path in (ROOT / part).rglob("*.py")
    }
    assert {k: v for k, v in wrong.items() if v} == {}
