"""Issue's end to end: a fresh database, no cycle configured, the morning of 2026-12-04, a 2025 roster in
four sectors and two offset-operation lists: every unit has its state and next step with the days left
to 2026-12-31, and the province's view counts by sector; `ccerbot demo --cycle 2025` tells the season."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo.season2025 import PROVINCES, REGISTRY, season, units

AT = "2026-12-04T09:00"
COUNT = 24


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    provinces = "\n".join(f'"{p}" = ["{officer}"]' for p, (_, officer) in PROVINCES.items())
    config = f'[senders]\nregistry = ["{REGISTRY}"]\n[senders.provinces]\n{provinces}\n'
    (tmp_path / "c.toml").write_text(config, encoding="utf-8")
    mail = tmp_path / "mail"
    mail.mkdir()
    sent = season(COUNT, date(2026, 12, 4))
    assert sum("操作记录" in m.name for _, m in sent) == 2  # two offset-operation lists by then
    for n, (_, message) in enumerate(sent):
        (mail / f"{n:03d}.eml").write_bytes(message.raw)
    base = ["--config", str(tmp_path / "c.toml"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"]
    assert main([*base, "ingest", str(mail)]) == 0
    return base


def test_every_unit_has_its_2025_step_and_deadline(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    steps = set()
    for unit in units(COUNT):
        assert main([*args, "status", unit.code, "--at", AT, "--json"]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["sector"] in ("power", "steel", "cement", "aluminium")
        assert got["allowances_due_t"] == unit.due_t
        assert got["offset_cap_t"] == unit.due_t * 5 // 100
        if got["complied"]:
            assert got["next_step"] == "done"
            continue
        assert got["next_deadline"] == "2026-12-31T23:59:59+08:00"
        held = unit.operates_on is not None and unit.operates_on <= date(2026, 11, 27)
        assert got["next_step"] == ("submit_compliance" if held else "submit_application")
        steps.add(got["next_step"])
    assert steps == {"submit_compliance", "submit_application"}


def test_the_text_says_the_days_left(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    waiting = next(u for u in units(COUNT) if u.complied_on is None)
    assert main([*args, "status", waiting.code, "--at", AT]) == 0
    out = capsys.readouterr().out
    assert "2025 年度" in out and "2026年12月31日 23:59" in out and "还剩 27 天" in out


def test_the_province_counts_by_sector(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*args, "province", "山东省", "--at", AT, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    members = [u for u in units(COUNT) if u.province == "山东省"]
    assert sum(s["units_total"] for s in got["by_sector"].values()) == got["units_total"] == len(members)
    assert set(got["by_sector"]) <= {"power", "steel", "cement", "aluminium"}


def test_demo_of_the_2025_season(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--cycle", "2025", "--dir", str(tmp_path), "--until", "2026-12-31"]) == 0
    out = capsys.readouterr().out
    assert "全国履约抵销操作记录：已处理" in out and "2026-12-31 09:00" in out
    assert "100% 履约目标检查" in out and "待抵销" in out and "95%" not in out


def test_an_export_has_a_row_for_each_obligation_year_and_the_sector() -> None:
    from datetime import datetime
    from io import BytesIO
    from zoneinfo import ZoneInfo

    from openpyxl import load_workbook

    from bot.chat.export import province_workbook
    from bot.reports import UnitReport
    from compliance.cycle import load_cycle
    from compliance.status import YearFacts, unit_status
    from tests.compliance.builders import at, facts

    years = (YearFacts("2021", 1_000_000, None, True), YearFacts("2022", 2_000_000, None, None))
    status = unit_status(facts(allowances_due_t=None, years=years), load_cycle("2021-2022"), at(2023, 12, 1))
    report = UnitReport("91370000000000000X", "某发电有限公司", "山东省", 3_000_000, None, status, "power")
    tz = ZoneInfo("Asia/Shanghai")
    data = province_workbook([report], "zh", tz, "山东省", datetime(2023, 12, 1, tzinfo=tz))
    sheet = load_workbook(BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    year, sector, due = header.index("履约年度"), header.index("行业"), header.index("应清缴配额量（吨）")
    assert [(r[year], r[sector], r[due]) for r in rows[1:]] == [
        ("2021", "发电", 1_000_000),
        ("2022", "发电", 2_000_000),
    ]


def test_the_national_view_counts_by_sector(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*args, "national", "--at", AT, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert sum(s["units_total"] for s in got["by_sector"].values()) == COUNT
    assert main([*args, "national", "--at", AT]) == 0
    out = capsys.readouterr().out
    assert "按行业：" in out and "95%" not in out
