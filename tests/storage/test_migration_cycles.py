"""Migration 0004_cycles on a first-cycle database: every fact and outbox row kept, each given its cycle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.engine import Engine

from compliance.status import YearFacts
from mail.intake import process
from storage.engine import make_engine, session_scope
from storage.inbox import content_hash, reset_for_retry
from storage.migrate import alembic_config, current_revision, head_revision
from storage.models import InboundMessage, RosterEntry
from storage.state import facts_at
from tests.db import database_url
from tests.intake.world import CONFIG, SD, SD_UNITS, at, roster_mail

A, B, _ = SD_UNITS
FIRST_KNOWN = at("2021-10-25T15:00")
SECOND_KNOWN = at("2023-09-01T10:00")  # a roster entry learned in the second cycle's time
WEEKLY_KNOWN = at("2021-11-05T16:30")
CANCELLED = at("2021-11-15T10:30")
AFTER = at("2023-12-01T00:00")


@pytest.fixture(params=["sqlite", "postgres"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database built by revision 0001 only, holding a first cycle's facts."""
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        command.upgrade(alembic_config(engine), "0001")
        try:
            _fill(engine)
            yield engine
        finally:
            engine.dispose()


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)  # as revision 0001 stores instants


def _fill(engine: Engine) -> None:
    tables = MetaData()
    tables.reflect(engine)
    t = tables.tables
    quarantined = roster_mail(SD, SD_UNITS[1:2], when="2021-10-26T09:00")
    with engine.begin() as db:
        messages = [
            {"id": 1, "raw": b"roster", "kind": "roster", "state": "done", "sent_at": FIRST_KNOWN},
            {"id": 2, "raw": b"weekly", "kind": "weekly_summary", "state": "done", "sent_at": WEEKLY_KNOWN},
            {"id": 3, "raw": quarantined, "kind": "roster", "state": "quarantined", "sent_at": FIRST_KNOWN},
        ]
        for m in messages:
            db.execute(
                insert(t["inboundmessage"]),
                {
                    **m,
                    "sent_at": _utc(m["sent_at"]),  # type: ignore[arg-type]
                    "content_hash": content_hash(m["raw"]),  # type: ignore[arg-type]
                    "source": f"old-{m['id']}.eml",
                    "sender": SD,
                    "subject": "山东省名录",
                    "received_at": _utc(FIRST_KNOWN),
                    "trusted": m["state"] == "done",
                    "attempts": 1,
                    "rows_applied": 0,
                    "row_errors": "[]",
                    "outcome": "applied" if m["state"] == "done" else "quarantined",
                    "reason": None if m["state"] == "done" else "处理出错 3 次，已隔离",
                },
            )
        db.execute(
            insert(t["unit"]),
            [
                {
                    "id": 1,
                    "code": A.code,
                    "province": A.province,
                    "name": A.name,
                    "created_at": _utc(FIRST_KNOWN),
                },
                {
                    "id": 2,
                    "code": B.code,
                    "province": B.province,
                    "name": B.name,
                    "created_at": _utc(FIRST_KNOWN),
                },
            ],
        )
        db.execute(
            insert(t["unitalias"]),
            [{"unit_id": 1, "kind": "code", "key": A.code}, {"unit_id": 2, "kind": "code", "key": B.code}],
        )
        entry = {"message_pk": 1, "province": A.province, "name": A.name, "account_no": None}
        db.execute(
            insert(t["rosterentry"]),
            [
                {**entry, "unit_id": 1, "known_at": _utc(FIRST_KNOWN), "allowances_due_t": A.due,
                 "surrendered_t": 10, "complied": False, "contact_email": "a@unit.example"},
                {**entry, "unit_id": 1, "known_at": _utc(SECOND_KNOWN), "allowances_due_t": 123,
                 "surrendered_t": None, "complied": None, "contact_email": None},
                {**entry, "unit_id": 2, "known_at": _utc(FIRST_KNOWN), "allowances_due_t": None,
                 "surrendered_t": None, "complied": None, "contact_email": None},
            ],
        )  # fmt: skip
        db.execute(
            insert(t["weeklysnapshot"]),
            {"id": 1, "message_pk": 2, "province": A.province, "as_of": date(2021, 11, 5),
             "known_at": _utc(WEEKLY_KNOWN), "superseded": False},
        )  # fmt: skip
        db.execute(
            insert(t["applicationline"]),
            {"snapshot_id": 1, "unit_id": 1, "row": 4, "code": A.code, "name": A.name, "name_key": A.name,
             "project_no": "0158", "requested_t": 150_000, "confirmed_t": None, "result": "confirmed"},
        )  # fmt: skip
        db.execute(
            insert(t["cancellationrecord"]),
            {"natural_key": "serial:1-2", "message_pk": 2, "known_at": _utc(CANCELLED),
             "province": A.province, "unit_id": 1, "row": 2, "holder_name": A.name, "name_key": A.name,
             "quantity_t": 120_000, "cancelled_at": _utc(CANCELLED)},
        )  # fmt: skip
        db.execute(
            insert(t["outboxitem"]),
            {"key": "sender|email:x|receipt|1", "audience": "sender", "channel": "email", "recipient": SD,
             "kind": "receipt", "subject": "回执", "body": "已应用", "state": "sent", "attempts": 1,
             "next_attempt_at": _utc(FIRST_KNOWN), "created_at": _utc(FIRST_KNOWN)},
        )  # fmt: skip


def _upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")
    assert current_revision(engine) == head_revision(engine)


def test_every_fact_is_kept_and_given_the_cycle_of_its_instant(old_engine: Engine) -> None:
    _upgrade(old_engine)
    with session_scope(old_engine) as session:
        cycles = [c for (c,) in session.execute(select(RosterEntry.cycle).order_by(RosterEntry.id))]
        assert cycles == ["2019-2020", "2021-2022", "2019-2020"]
        first = {k.unit.code: f for k, f in facts_at(session, at("2021-12-01T00:00"), cycle="2019-2020")}
        everything = {k.unit.code: f for k, f in facts_at(session, at("2021-12-01T00:00"))}
        second = {k.unit.code: f for k, f in facts_at(session, AFTER, cycle="2021-2022")}
    assert first == everything  # the first cycle's facts, all of them, and nothing else
    unit = first[A.code]
    assert (unit.allowances_due_t, unit.complied) == (A.due, False)
    assert unit.years == (YearFacts("2019-2020", A.due, 10, False),)
    assert [line.requested_t for line in unit.lines] == [150_000]
    assert [c.quantity_t for c in unit.cancellations] == [120_000]
    assert first[B.code].years == ()  # a roster row without figures has none to carry
    assert second[A.code].years == (YearFacts("2021", 123, None, None),)


def test_outbox_rows_and_messages_are_kept(old_engine: Engine) -> None:
    def counted(engine: Engine) -> tuple[int, ...]:
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as db:
            return tuple(
                db.execute(select(func.count()).select_from(tables.tables[name])).scalar_one()
                for name in ("outboxitem", "inboundmessage", "unit", "rosterentry", "applicationline")
            )

    before = counted(old_engine)
    _upgrade(old_engine)
    assert counted(old_engine) == before


def test_an_old_quarantined_message_is_retried_after_the_upgrade(old_engine: Engine) -> None:
    _upgrade(old_engine)
    assert reset_for_retry(old_engine, 3) is not None
    outcome = process(old_engine, 3, CONFIG, at("2021-10-27T09:00"), "old-3.eml")
    assert (outcome.outcome, outcome.rows_applied) == ("applied", 1)
    with session_scope(old_engine) as session:
        message = session.get(InboundMessage, 3)
        assert message is not None and message.state == "done"
        facts = {k.unit.code: f for k, f in facts_at(session, at("2021-10-28T00:00"), cycle="2019-2020")}
    assert facts[B.code].allowances_due_t == B.due


def test_the_revision_goes_down_and_up_again(old_engine: Engine) -> None:
    _upgrade(old_engine)
    command.downgrade(alembic_config(old_engine), "0001")
    _upgrade(old_engine)
    with session_scope(old_engine) as session:
        assert len(facts_at(session, at("2021-12-01T00:00"), cycle="2019-2020")) == 2
