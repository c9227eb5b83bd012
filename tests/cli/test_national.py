"""`ccerbot national`: every province's rate against the targets, furthest behind first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.cli.test_commands import CONFIG
from tests.intake.world import GD, GD_UNITS, SD, SD_UNITS, roster_mail


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    (tmp_path / "ccerbot.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1.eml").write_bytes(
        roster_mail(SD, SD_UNITS, complied={SD_UNITS[0].code: "已完成"})
    )
    (tmp_path / "mail" / "2.eml").write_bytes(roster_mail(GD, GD_UNITS))
    base = ["--config", str(tmp_path / "ccerbot.toml"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"]
    assert main([*base, "ingest", str(tmp_path / "mail")]) == 0
    return base


def test_national_json_sorts_provinces_by_rate(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*args, "national", "--at", "2021-12-01T09:00", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    rows = [(p["province"], p["units_complied"], p["units_total"]) for p in got["provinces"]]
    assert rows == [("广东省", 0, 2), ("山东省", 1, 3)]
    assert got["provinces"][1]["units_needed_for_95"] == 2
    assert got["target_95_at"] == "2021-12-15T17:00:00+08:00"


def test_national_text_shows_time_left_and_the_one_phrase_once_passed(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*args, "national", "--at", "2021-12-01T09:00"]) == 0
    text = capsys.readouterr().out
    assert text.index("广东省") < text.index("山东省")
    assert "还剩 14 天 8 小时" in text and "1/3" in text
    assert main([*args, "national", "--at", "2021-12-20T09:00"]) == 0
    assert "已过截止时间" in capsys.readouterr().out


def test_status_says_a_passed_deadline_as_the_chat_does(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*args, "status", SD_UNITS[1].code, "--at", "2022-01-05T09:00"]) == 0
    out = capsys.readouterr().out
    assert "已过截止时间" in out and "已过期" not in out
    assert main([*args, "--lang", "en", "status", SD_UNITS[1].code, "--at", "2022-01-05T09:00"]) == 0
    assert "deadline passed" in capsys.readouterr().out


def test_a_province_block_lists_the_units_it_counts(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*args, "province", "山东省", "--at", "2021-12-01T09:00"]) == 0
    out = capsys.readouterr().out
    assert "未完成履约：2 家" in out
    listed = out[out.index("未完成履约") :]
    assert all(u.code in listed for u in SD_UNITS[1:]) and SD_UNITS[0].code not in listed
    assert listed.count("（9137") == 2
