"""The sample corpus: every attachment parses to the kind and the values expected.json describes."""

from __future__ import annotations

import email
import io
import json
from collections import defaultdict
from datetime import datetime
from email import policy
from email.message import EmailMessage
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from mail.classify import kind_from_subject, province_from_text
from mail.records import ApplicationRecord, CancellationLine, ParsedTable, RosterRecord
from mail.rows import parse_table
from mail.values import Cell, find_date
from tests import shared

SAMPLES = shared.SAMPLES
TZ = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.skipif(not (SAMPLES / "expected.json").exists(), reason="no sample corpus")


@cache
def expected() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8")))


def messages() -> list[dict[str, Any]]:
    return list(expected()["messages"]) if (SAMPLES / "expected.json").exists() else []


@cache
def load(file: str) -> tuple[str, ParsedTable]:
    """The message's subject and its one spreadsheet attachment, parsed."""
    with (SAMPLES / "mail" / file).open("rb") as handle:
        message = cast(EmailMessage, email.message_from_binary_file(handle, policy=policy.default))
    subject = str(message["Subject"])
    (part,) = [p for p in message.walk() if p.get_filename()]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    sheet = openpyxl.load_workbook(io.BytesIO(payload)).worksheets[0]
    # these samples hold only text, numbers and dates: exactly the cells a reader hands over
    rows = [cast(list[Cell], list(row)) for row in sheet.iter_rows(values_only=True)]
    return subject, parse_table(rows, kind_hint=kind_from_subject(subject), tz=TZ)


def latest(kind: str, province: str) -> ParsedTable:
    files = [m["file"] for m in messages() if m["kind"] == kind]
    mine = [f for f in files if province_from_text(load(f)[0]) == province]
    return load(max(mine, key=_sent_at))[1]


def _sent_at(file: str) -> datetime:
    return datetime.fromisoformat(next(m["date"] for m in messages() if m["file"] == file))


def units_of(province: str) -> dict[str, dict[str, Any]]:
    return {code: unit for code, unit in expected()["units"].items() if unit["province"] == province}


PROVINCES = sorted({u["province"] for u in expected()["units"].values()}) if messages() else []


@pytest.mark.parametrize("message", messages(), ids=lambda m: m["file"])
def test_every_sample_parses_cleanly_to_its_kind(message: dict[str, Any]) -> None:
    subject, table = load(message["file"])
    assert table.kind == message["kind"]
    assert kind_from_subject(subject) == message["kind"]
    assert table.row_errors == []
    if message["kind"] != "cancellation_list":
        assert table.province_hint == province_from_text(subject)


@pytest.mark.parametrize("message", messages(), ids=lambda m: m["file"])
def test_snapshot_date_matches_the_subject(message: dict[str, Any]) -> None:
    subject, table = load(message["file"])
    said = find_date(subject[subject.index("截至") :]) if "截至" in subject else None
    if message["kind"] == "cancellation_list":
        assert table.snapshot_date is None
    else:
        assert said is None or table.snapshot_date == said


@pytest.mark.parametrize("province", PROVINCES)
def test_latest_weekly_gives_each_units_application(province: str) -> None:
    table = latest("weekly_summary", province)
    apps = {r.code: r for r in table.records if isinstance(r, ApplicationRecord)}
    for code, unit in units_of(province).items():
        if unit["application"] == "none":
            assert code not in apps
            continue
        app = apps[code]
        assert app.name == unit["name"]
        assert app.allowances_due_t == unit["allowances_due_t"]
        assert sum(line.requested_t for line in app.lines) == unit["requested_t"]
        assert {line.result for line in app.lines} == {unit["application"]}
        if unit["application"] == "confirmed":
            assert sum(line.confirmed_t or line.requested_t for line in app.lines) == unit["confirmed_t"]


@pytest.mark.parametrize("province", PROVINCES)
def test_latest_roster_gives_each_unit(province: str) -> None:
    table = latest("roster", province)
    units = {r.code: r for r in table.records if isinstance(r, RosterRecord)}
    assert set(units) == set(units_of(province))
    for code, unit in units_of(province).items():
        record = units[code]
        assert (record.name, record.province) == (unit["name"], province)
        assert record.allowances_due_t == unit["allowances_due_t"]
        assert record.complied is unit["complied"]
        assert record.account_no and record.contact_email


def test_cancellations_add_up_per_unit() -> None:
    by_serials: dict[tuple[str | None, str | None], CancellationLine] = {}
    for message in messages():
        if message["kind"] == "cancellation_list":
            for record in load(message["file"])[1].records:
                assert isinstance(record, CancellationLine)
                assert record.cancelled_at.tzinfo is not None
                by_serials[(record.serial_from, record.serial_to)] = record
    cancelled: dict[str | None, int] = defaultdict(int)
    for record in by_serials.values():
        cancelled[record.code] += record.quantity_t
    for code, unit in expected()["units"].items():
        assert cancelled.get(code, 0) == unit["cancelled_t"], unit["name"]
