"""The command line: the JSON shapes DESIGN.md lists, and one clear line for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from storage.engine import make_engine
from storage.migrate import head_revision
from tests.intake.world import GD, GD_UNITS, SD, SD_UNITS, roster_mail

CONFIG = f"""
cycle = "2019-2020"
[senders]
ncsc = ["registry@ccersc.org.cn"]
[senders.provinces]
"山东省" = ["{SD}"]
"广东省" = ["{GD}"]
"""


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    (tmp_path / "ccerbot.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1.eml").write_bytes(roster_mail(SD, SD_UNITS))
    (tmp_path / "mail" / "2.eml").write_bytes(roster_mail(GD, GD_UNITS))
    args = ["--config", str(tmp_path / "ccerbot.toml"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"]
    assert main([*args, "ingest", str(tmp_path / "mail")]) == 0
    return args


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_ingest_json_has_one_object_per_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "a.eml").write_bytes(roster_mail(SD, SD_UNITS))
    args = [
        "--config",
        str(tmp_path / "c.toml"),
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        "ingest",
        "--json",
    ]
    assert main([*args, str(tmp_path / "a.eml"), str(tmp_path / "a.eml")]) == 0
    first, second = _json(capsys)  # type: ignore[misc]
    keys = {"file", "message_id", "kind", "outcome", "rows_applied", "row_errors", "reason"}
    assert keys <= set(first) and keys <= set(second)
    assert (first["kind"], first["outcome"], first["rows_applied"]) == ("roster", "applied", 3)
    assert second["outcome"] == "duplicate"


def test_status_json_keys(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*base, "status", SD_UNITS[0].code.lower(), "--at", "2021-11-01T09:00", "--json"]) == 0
    got = _json(capsys)
    assert isinstance(got, dict)
    assert set(got) >= {
        "code",
        "name",
        "province",
        "allowances_due_t",
        "offset_cap_t",
        "application",
        "requested_t",
        "confirmed_t",
        "cancelled_t",
        "complied",
        "anomalies",
        "next_step",
        "next_deadline",
    }
    assert (got["code"], got["next_step"], got["next_deadline"]) == (
        SD_UNITS[0].code,
        "submit_application",
        "2021-12-10T17:00:00+08:00",
    )


def test_province_json_keys(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*base, "province", "广东省", "--json"]) == 0
    got = _json(capsys)
    assert isinstance(got, dict)
    assert {
        k: got[k]
        for k in ("province", "units_total", "units_complied", "completion_rate", "unmatched_cancellations")
    } == {
        "province": "广东省",
        "units_total": 2,
        "units_complied": 0,
        "completion_rate": 0.0,
        "unmatched_cancellations": 0,
    }
    assert sorted(got["outstanding"]) == sorted(u.code for u in GD_UNITS)


def test_invite_prints_the_code_on_its_last_line(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*base, "invite", "--officer", "山东省"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(last) == 8 and last.isalnum()
    assert main([*base, "invite", "--unit", SD_UNITS[1].code]) == 0


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["status", "91370100MA3C0000X1"], 2, "不是有效的统一社会信用代码"),
        (["status", "91370100MA3C00001X"], 2, "不是有效的统一社会信用代码"),
        (["status", "913709990000000000"], 2, "不是有效的统一社会信用代码"),
        (["status", SD_UNITS[0].code, "--at", "next tuesday"], 2, "--at"),
        (["province", "火星省"], 1, "没有找到省份"),
        (["invite", "--unit", "91440100MA5C000099"], 2, "没有统一社会信用代码为"),
        (["ingest", "/nonexistent/mail"], 2, "找不到"),
        (["quarantine", "show", "99"], 2, "隔离区中没有"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    base: list[str], capsys: pytest.CaptureFixture[str], args: list[str], code: int, words: str
) -> None:
    capsys.readouterr()
    assert main([*base, *args]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccerbot: ") and words in lines[0]


def test_a_unit_not_on_any_roster(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from compliance.creditcode import make_code

    capsys.readouterr()
    assert main([*base, "status", make_code("91110000MA0000001")]) == 1
    assert "没有找到" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("cycle = [", "不是有效的 TOML"),
        ('cycle = "2030-2031"', "2030-2031"),
        ('timezone = "Mars/Olympus"', "timezone"),
        ("unknown_key = 1", "unknown_key"),
        ('[imap]\nhost = "imap.example"\nsecurity = "none"', "loopback"),
    ],
)
def test_a_bad_configuration_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, words: str
) -> None:
    (tmp_path / "c.toml").write_text(config, encoding="utf-8")
    code = main(
        [
            "--config",
            str(tmp_path / "c.toml"),
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "status",
            SD_UNITS[0].code,
        ]
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and words in lines[0]


def test_a_missing_configuration_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "none.toml"), "province", "山东省"]) == 1
    assert "找不到配置文件" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "postgresql://nobody@127.0.0.1:1/none", "province", "山东省"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "无法使用数据库" in lines[0]


def test_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    head = head_revision(make_engine(url))
    assert head is not None and f"版本 {head}" in capsys.readouterr().out


def test_run_since_needs_imap_and_a_date(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*base, "run", "--since", "2021-10-25"]) == 2
    assert "IMAP" in capsys.readouterr().err


def test_run_since_refuses_a_bad_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(
        '[imap]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n', encoding="utf-8"
    )
    args = ["--config", str(tmp_path / "c.toml"), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    assert main([*args, "run", "--since", "last week"]) == 2
    assert "--since 需要日期" in capsys.readouterr().err
