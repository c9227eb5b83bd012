"""An application from any address becomes a proposal the officers hear of: from an address that is no
unit's contact on file, at most a few a day, and none for a unit already waiting for a decision. Beyond
that the mail is kept with the reason and told in the hour's digest, not one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from mail import intake
from mail.applications import STRANGER_APPLICATIONS_PER_DAY
from storage import outbox
from storage.engine import session_scope
from storage.models import InboundMessage, OffsetApplication
from tests.applications.forms import application_mail, form_rows
from tests.intake.world import CONFIG, GD, GD_UNITS, SD, SD_UNITS, at, seeded

STRANGER = "agent@consulting.example"
CONTACT = "unit1@example.cn"  # 济南's contact address on the roster


def take(engine: Engine, raw: bytes, now: datetime) -> intake.Outcome:
    return intake.take(engine, raw, "mail.eml", CONFIG, now)


def proposals(engine: Engine) -> list[tuple[str | None, str | None]]:
    with session_scope(engine) as session:
        query = select(OffsetApplication).order_by(OffsetApplication.id)  # type: ignore[arg-type]
        return [(a.code, a.sender) for a in session.exec(query)]


def officer_items(engine: Engine, kind: str) -> list[str]:
    return [i.recipient for i in outbox.items(engine) if i.audience == "officer" and i.kind == kind]


def test_a_stranger_files_a_few_a_day_and_the_rest_is_kept(sqlite_engine: Engine) -> None:
    engine = seeded(sqlite_engine)
    assert STRANGER_APPLICATIONS_PER_DAY == 3
    units = [*SD_UNITS, GD_UNITS[0]]
    # the Date line says a week ago: the day is counted by arrival, which the sender does not write
    mails = [application_mail(STRANGER, form_rows(u, 100_000), "2021-10-27T10:00") for u in units]
    morning = [at(f"2021-11-01T{9 + n:02d}:00") for n in range(4)]
    outcomes = [take(engine, raw, now) for raw, now in zip(mails, morning, strict=True)]

    assert [o.outcome for o in outcomes] == ["received", "received", "received", "held"]
    held = outcomes[3]
    assert held.province == "广东省" and "每日至多 3 份" in (held.reason or "")
    with session_scope(engine) as session:
        kept = session.get(InboundMessage, held.message_pk)
        assert kept is not None and (kept.state, kept.outcome, kept.reason) == ("done", "held", held.reason)
        assert kept.raw == mails[3]  # nothing lost
    assert proposals(engine) == [(u.code, STRANGER) for u in SD_UNITS]
    # the officers heard of the three proposals one by one, of the fourth only in the hour's digest
    assert sorted(officer_items(engine, "application")) == [SD, SD, SD]
    assert officer_items(engine, "untrusted_digest") == [GD]
    [digest] = [i for i in outbox.items(engine) if i.kind == "untrusted_digest"]
    assert "1 份申请表超出限制" in digest.body and f"{held.message_pk}｜{STRANGER}" in digest.body
    assert digest.next_attempt_at >= at("2021-11-01T13:00")  # sent when the hour ends

    # a day after the first, the stranger may file again
    again = take(engine, application_mail(STRANGER, form_rows(GD_UNITS[1], 100_000)), at("2021-11-02T09:30"))
    assert again.outcome == "received"


def test_a_stranger_cannot_add_to_a_unit_already_waiting(sqlite_engine: Engine) -> None:
    engine = seeded(sqlite_engine)
    jinan = SD_UNITS[0]
    assert take(
        engine, application_mail(CONTACT, form_rows(jinan, 100_000)), at("2021-11-01T09:00")
    ).outcome == ("received")
    second = take(engine, application_mail(STRANGER, form_rows(jinan, 200_000)), at("2021-11-01T10:00"))
    assert second.outcome == "held" and "已有待确认的申请（第 1 号）" in (second.reason or "")
    assert proposals(engine) == [(jinan.code, CONTACT)]


def test_the_contact_address_on_file_is_not_throttled(sqlite_engine: Engine) -> None:
    engine = seeded(sqlite_engine)
    jinan = SD_UNITS[0]
    sent = [
        take(
            engine, application_mail(CONTACT, form_rows(jinan, 100_000 + n)), at(f"2021-11-01T{9 + n:02d}:00")
        )
        for n in range(STRANGER_APPLICATIONS_PER_DAY + 2)
    ]
    assert {o.outcome for o in sent} == {"received"}
    assert len(proposals(engine)) == STRANGER_APPLICATIONS_PER_DAY + 2


def test_the_share_is_a_setting(sqlite_engine: Engine) -> None:
    engine = seeded(sqlite_engine)
    one = replace(CONFIG, stranger_applications_per_day=1)
    first = intake.take(
        engine, application_mail(STRANGER, form_rows(SD_UNITS[0], 1)), "a", one, at("2021-11-01T09:00")
    )
    second = intake.take(
        engine, application_mail(STRANGER, form_rows(SD_UNITS[1], 1)), "b", one, at("2021-11-01T09:05")
    )
    assert (first.outcome, second.outcome) == ("received", "held")
