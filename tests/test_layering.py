"""The parts import each other only as docs/ARCHITECTURE.md says: compliance nothing of ours, storage only
compliance, mail never bot; inside bot, only the notices write the outbox and the chat core knows no
platform."""

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
PLATFORMS = (
    "bot.telegram",
    "bot.dingtalk",
    "bot.feishu",
    "bot.console",
    "telegram",
    "dingtalk_stream",
    "lark_oapi",
)


def imported_modules(path: Path) -> set[str]:
    """Every module the file imports, by statement or by importlib.import_module("…") / __import__("…")."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and _dynamic_import(node) and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
    return found


def _dynamic_import(call: ast.Call) -> bool:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name in ("import_module", "__import__")


def imported_parts(path: Path) -> set[str]:
    return {module.split(".")[0] for module in imported_modules(path)} & OURS


def python_files(part: str) -> list[Path]:
    return sorted((ROOT / part).rglob("*.py"))


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_a_part_imports_only_what_it_may(part: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_parts(path) - ALLOWED[part] - {part})
        for path in python_files(part)
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_only_the_notices_write_the_outbox() -> None:
    writers = {
        str(path.relative_to(ROOT))
        for part in OURS
        for path in python_files(part)
        if {"storage.outbox.enqueue", "storage.outbox.NewItem"} & imported_modules(path)
        or "outbox.enqueue(" in path.read_text(encoding="utf-8")
    }
    assert {w for w in writers if not w.startswith("bot/notices/")} == set()


def test_the_chat_core_knows_no_platform() -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.startswith(PLATFORMS))
        for path in python_files("bot/chat")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_a_dynamic_import_is_seen(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text('import importlib\nimportlib.import_module("bot.notices")\n', encoding="utf-8")
    assert "bot.notices" in imported_modules(sneaky)
