"""The public sample corpus gives exactly the state its expected.json describes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import load_settings
from bot.notices.reminders import reminders_at
from bot.reports import province_report, unit_reports
from compliance.cycle import load_cycle
from mail.intake import IntakeConfig, Outcome, take
from mail.sources import iter_paths

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
KEYS = (
    "province",
    "allowances_due_t",
    "offset_cap_t",
    "application",
    "requested_t",
    "confirmed_t",
    "cancelled_t",
    "complied",
    "anomalies",
)

pytestmark = pytest.mark.skipif(
    not (SAMPLES / "expected.json").exists(), reason="../shared/samples is not here"
)


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    return json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


def _ingest_all(engine: Engine) -> list[Outcome]:
    settings = load_settings(str(SAMPLES / "ccerbot.toml"))
    config = IntakeConfig(senders=settings.trusted_senders(), tz=settings.tz)
    now = datetime(2022, 1, 10, tzinfo=settings.tz)
    return [take(engine, p.read_bytes(), str(p), config, now) for p in iter_paths([str(SAMPLES / "mail")])]


def test_every_unit_province_and_message_outcome(engine: Engine, expected: dict) -> None:  # type: ignore[type-arg]
    outcomes = {Path(o.source).name: (o.kind, o.outcome) for o in _ingest_all(engine)}
    assert outcomes == {m["file"]: (m["kind"], m["expect"]) for m in expected["messages"]}
    cycle, later = load_cycle("2019-2020"), datetime.fromisoformat("2022-01-10T00:00:00+08:00")
    got = {r.code: r.to_json() for r in unit_reports(engine, cycle, later)}
    for code, want in expected["units"].items():
        assert {k: got[code][k] for k in KEYS} == {k: want[k] for k in KEYS}, code
        assert got[code]["next_step"] == want["next_step_after_all"], code
    for province, want in expected["provinces"].items():
        report = province_report(engine, cycle, province, later).to_json()
        assert {k: report[k] for k in want} == want
    total = sum(len(province_report(engine, cycle, p, later).unmatched) for p in expected["provinces"])
    assert total == expected["unmatched_cancellations"]


def test_the_deadline_mornings_reminders(sqlite_engine: Engine, expected: dict) -> None:  # type: ignore[type-arg]
    _ingest_all(sqlite_engine)
    settings = load_settings(str(SAMPLES / "ccerbot.toml"))
    for instant, want in expected["reminders"].items():
        due = reminders_at(sqlite_engine, settings, load_cycle("2019-2020"), datetime.fromisoformat(instant))
        emitters = {r.item.target: r.item.kind for r in due if r.item.audience == "emitter"}
        officers = {
            r.item.target: {
                "kind": r.item.kind,
                "units_total": r.item.details["units_total"],
                "units_complied": r.item.details["units_complied"],
            }
            for r in due
            if r.item.audience == "officer"
        }
        assert (emitters, officers) == (want["emitters"], want["officers"]), instant
