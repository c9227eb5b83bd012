"""A mistyped database path is an error, and an empty database says it has no mail rather than "no unit"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.intake.world import SD, SD_UNITS, roster_mail


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("ccerbot: ")
    return lines[0]


@pytest.mark.parametrize("command", [["status", SD_UNITS[0].code], ["province", "山东省"], ["db", "upgrade"]])
def test_a_missing_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    folder = tmp_path / "nonexistent" / "dir"
    assert main(["--db", f"sqlite:///{folder / 'x.db'}", *command]) == 1
    line = _one_line(capsys)
    assert str(folder) in line and "不存在" in line
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("command", [["status", SD_UNITS[0].code], ["province", "山东省"]])
def test_a_database_without_the_cycles_mail_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(["--db", f"sqlite:///{tmp_path / 'x.db'}", *command, "--at", "2021-11-01T09:00"]) == 1
    line = _one_line(capsys)
    assert "2019-2020" in line and "名单邮件" in line and "ccerbot ingest" in line
    assert "没有找到" not in line


def test_before_the_first_roster_arrives_says_so_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'x.db'}"]
    (tmp_path / "r.eml").write_bytes(roster_mail(SD, SD_UNITS, when="2021-10-25T15:00"))
    config = tmp_path / "c.toml"
    config.write_text(f'[senders.provinces]\n"山东省" = ["{SD}"]\n', encoding="utf-8")
    assert main(["--config", str(config), *db, "ingest", str(tmp_path / "r.eml")]) == 0
    capsys.readouterr()
    assert main([*db, "status", SD_UNITS[0].code, "--at", "2021-10-20T09:00"]) == 1
    assert "名单邮件" in _one_line(capsys)
    assert main([*db, "status", SD_UNITS[0].code, "--at", "2021-11-01T09:00"]) == 0


def test_the_default_database_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCERBOT_DATABASE_URL", raising=False)
    assert main(["province", "山东省"]) == 1
    assert "名单邮件" in _one_line(capsys)
    assert (tmp_path / "var" / "ccerbot.db").exists()
