"""`ccerbot reminders --at T --json` on the shared sample corpus gives exactly what expected.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.cli import main
from storage import outbox
from tests.reminders.helpers import samples_dir

SAMPLES = samples_dir()
EXPECTED: dict[str, Any] = (
    json.loads((SAMPLES / "expected.json").read_text("utf-8"))["reminders"] if SAMPLES else {}
)


def reminders_json(
    samples: Path, engine: Engine, at: str, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    database = engine.url.render_as_string(hide_password=False)
    code = main(
        ["--config", str(samples / "ccerbot.toml"), "--db", database, "reminders", "--at", at, "--json"]
    )
    assert code == 0
    listed: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return listed


@pytest.mark.parametrize("at", sorted(EXPECTED) or ["no samples"])
def test_deadline_mornings_give_the_expected_reminders(
    at: str, samples: Path, sample_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = reminders_json(samples, sample_engine, at, capsys)
    emitters = {r["code"]: r["kind"] for r in listed if r["audience"] == "emitter"}
    officers = {
        r["province"]: {
            "kind": r["kind"],
            "units_total": r["units_total"],
            "units_complied": r["units_complied"],
        }
        for r in listed
        if r["audience"] == "officer"
    }
    assert emitters == EXPECTED[at]["emitters"]
    assert officers == EXPECTED[at]["officers"]
    assert len(listed) == len(emitters) + len(officers)  # one message per target
    assert all(r["channels"] == ["email"] and r["text"] for r in listed)  # no chat is bound in the corpus


def test_listing_writes_nothing(
    samples: Path, sample_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    for at in EXPECTED:
        reminders_json(samples, sample_engine, at, capsys)
    assert outbox.items(sample_engine) == []


def test_before_the_morning_slot_nothing_is_due(
    samples: Path, sample_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reminders_json(samples, sample_engine, "2021-12-15T08:59:00+08:00", capsys) == []
