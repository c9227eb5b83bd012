"""`ccerbot cycles`, the cycle followed by default, and corrections of uncertain values."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from compliance.cycle import current_cycle


def run(tmp_path: Path, config: str, *args: str) -> int:
    (tmp_path / "c.toml").write_text(config, encoding="utf-8")
    return main(["--config", str(tmp_path / "c.toml"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", *args])


def test_five_cycles_with_sources_and_the_current_one_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "", "cycles", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in listed] == ["2019-2020", "2021-2022", "2023", "2024", "2025"]
    assert all(c["source"] and c["sources"] for c in listed)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    [followed] = [c["name"] for c in listed if c["followed"]]
    assert followed == current_cycle(now).name
    if now.year >= 2026:
        assert followed == "2025"
    assert "dates.window_closes" in listed[-1]["uncertain"]


def test_the_text_marks_the_followed_cycle_and_how_it_was_chosen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, 'cycle = "2021-2022"\n', "cycles") == 0
    out = capsys.readouterr().out
    assert "▶ 2021-2022" in out and "按配置" in out and "⚠ 存疑" in out


def test_an_uncertain_value_can_be_corrected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = '[cycle_overrides."2025"]\n"dates.window_closes" = 2026-12-15T17:00:00\n'
    assert run(tmp_path, config, "cycles", "--json") == 0
    [current] = [c for c in json.loads(capsys.readouterr().out) if c["name"] == "2025"]
    assert current["window_closes"] == "2026-12-15T17:00:00+08:00"
    assert current["overridden"] == ["dates.window_closes"]


def test_a_confirmed_value_cannot_be_overridden(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = 'cycle = "2025"\n[cycle_overrides."2025"]\n"dates.compliance_deadline" = 2027-01-31\n'
    assert run(tmp_path, config, "cycles") == 2
    err = capsys.readouterr().err
    assert "dates.compliance_deadline" in err and "存疑" in err and len(err.strip().splitlines()) == 1
