"""`invite --officer` takes only a province (short forms resolve), never a name that has no data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.config import ConfigError, load_settings
from storage.engine import make_engine, session_scope
from storage.models import OneTimeCode

ROOT = Path(__file__).resolve().parents[2]


def _provinces_in_data() -> dict[str, list[str]]:
    raw = tomllib.loads((ROOT / "mail" / "headers.toml").read_text(encoding="utf-8"))
    return dict(raw["provinces"])


def _invite(tmp_path: Path, province: str) -> int:
    return main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "invite", "--officer", province])


def _invited(tmp_path: Path) -> list[str | None]:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with session_scope(engine) as session:
        return [code.province for code in session.exec(select(OneTimeCode))]


def test_the_data_lists_31_provinces_and_the_corps() -> None:
    names = list(_provinces_in_data())
    assert len(names) == 32 and "新疆生产建设兵团" in names


@pytest.mark.parametrize(
    ("typed", "province"),
    [
        ("浙江", "浙江省"),
        ("内蒙古", "内蒙古自治区"),
        ("北京", "北京市"),
        (" 广西 ", "广西壮族自治区"),
        ("兵团", "新疆生产建设兵团"),
    ],
)
def test_a_short_form_resolves(tmp_path: Path, typed: str, province: str) -> None:
    assert _invite(tmp_path, typed) == 0
    assert _invited(tmp_path) == [province]


def test_every_name_and_form_in_the_data_is_accepted(tmp_path: Path) -> None:
    table = _provinces_in_data()
    forms = [(form, name) for name, others in table.items() for form in (name, *others)]
    for form, _name in forms:
        assert _invite(tmp_path, form) == 0, form
    assert _invited(tmp_path) == [name for _form, name in forms]


def test_a_national_officer(tmp_path: Path) -> None:
    assert _invite(tmp_path, "*") == 0
    assert _invited(tmp_path) == ["*"]


@pytest.mark.parametrize("typed", ["foo", "浙", "火星省", "", "浙江省 杭州"])
def test_anything_else_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], typed: str) -> None:
    capsys.readouterr()
    assert _invite(tmp_path, typed) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and "不是省级行政区" in lines[0] and "浙江省" in lines[0]
    assert _invited(tmp_path) == []


def test_configured_officers_resolve_and_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[officers]]\ntelegram_id = 1\nprovince = "浙江"\n', encoding="utf-8")
    assert [o.province for o in load_settings(str(good)).officers] == ["浙江省"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[officers]]\ntelegram_id = 1\nprovince = "foo"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="officers"):
        load_settings(str(bad))


def test_the_province_command_takes_a_short_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.intake.world import SD, SD_UNITS, roster_mail

    (tmp_path / "r.eml").write_bytes(roster_mail(SD, SD_UNITS))
    config = tmp_path / "c.toml"
    config.write_text(f'[senders.provinces]\n"山东省" = ["{SD}"]\n', encoding="utf-8")
    db = ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    assert main([*db, "ingest", str(tmp_path / "r.eml")]) == 0
    capsys.readouterr()
    assert main([*db, "province", "山东", "--json", "--at", "2021-11-01T09:00"]) == 0
    assert '"province": "山东省"' in capsys.readouterr().out
