"""An application comes in whoever sends it: stored as a proposal with its checks, never applied."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.context import AppContext
from mail import intake
from storage import applications
from storage.engine import session_scope
from storage.models import InboundMessage, OffsetApplication
from tests.applications.forms import application_mail, form_rows, text_mail
from tests.intake.world import CONFIG, LATER, SD_UNITS, at, roster_mail, seeded, status, take
from tests.told import settings_like

UNIT, OTHER = SD_UNITS[0], SD_UNITS[1]
CONTACT = "unit1@example.cn"  # the roster's contact address of the first unit


def stored(engine: Engine) -> list[OffsetApplication]:
    with session_scope(engine) as session:
        found = list(session.exec(select(OffsetApplication).order_by(OffsetApplication.id)))  # type: ignore[arg-type]
        session.expunge_all()
        return found


def checks(application: OffsetApplication) -> dict[str, object]:
    return {c["name"]: c["ok"] for c in json.loads(application.checks)}


def test_an_application_from_the_contact_address_waits_for_an_officer(engine: Engine) -> None:
    seeded(engine)
    before = status(engine, UNIT)
    outcome = take(engine, application_mail(CONTACT, form_rows(UNIT, 150_000)))
    assert (outcome.kind, outcome.outcome, outcome.trusted) == ("application", "received", False)
    [application] = stored(engine)
    assert (application.code, application.province, application.state) == (UNIT.code, "山东省", "pending")
    assert application.requested_t == 150_000 and application.sender == CONTACT
    assert checks(application) == {
        "readable": True, "matched": True, "window": True, "cap": True,
        "vintage": True, "excluded": True, "no_earlier": True,
    }  # fmt: skip
    after = status(engine, UNIT)
    assert after.status == before.status  # a proposal changes nothing


def test_a_stranger_application_is_taken_but_a_stranger_roster_stays_quarantined(engine: Engine) -> None:
    seeded(engine)
    outcome = take(engine, application_mail("someone@else.example", form_rows(OTHER, 900_000)))
    assert outcome.outcome == "received"
    [application] = stored(engine)
    found = checks(application)
    assert found["cap"] is False  # 5 % of 10,000,000 is 500,000
    forged = take(engine, roster_mail("someone@else.example", SD_UNITS))
    assert forged.outcome == "quarantined"
    with session_scope(engine) as session:
        kinds = [(m.kind, m.state) for m in session.exec(select(InboundMessage).order_by(InboundMessage.id))]  # type: ignore[arg-type]
    assert kinds[-2:] == [("application", "done"), ("roster", "quarantined")]


def test_the_checks_find_what_is_wrong(engine: Engine) -> None:
    seeded(engine)
    late = [("0158", "某水电", "2016-01-01至2017-06-30", 100_000)]
    take(engine, application_mail(CONTACT, form_rows(UNIT, 100_000, late)))
    take(engine, application_mail(CONTACT, form_rows(UNIT, 100_000), "2021-12-11T09:00"))
    first, second = stored(engine)
    assert checks(first)["vintage"] is False
    assert checks(second)["window"] is False and checks(second)["no_earlier"] is False
    with session_scope(engine) as session:
        assert applications.earlier_pending(session, first.unit_id, None, "2019-2020") == first.id


def test_the_window_check_follows_the_configured_correction_of_the_cycle(engine: Engine) -> None:
    """[cycle_overrides] moves the window's close (a value the cycle file marks uncertain): an application
    mailed after the bundled close but before the corrected one is in the window, as the chat, the
    reminders and `ccerbot cycles` all say."""
    seeded(engine)
    url = engine.url.render_as_string(hide_password=False)
    closes = datetime(2021, 12, 14, 17, 0)  # as TOML gives it: local time
    overrides = {"2019-2020": {"dates.window_closes": closes}}
    ctx = AppContext(settings_like(CONFIG, database_url=url, cycle_overrides=overrides))
    assert ctx.cycle.window_closes == at("2021-12-14T17:00")
    raw = application_mail(CONTACT, form_rows(UNIT, 100_000), "2021-12-13T09:00")
    intake.take(engine, raw, "mail.eml", ctx.intake_config(), LATER)
    [application] = stored(engine)
    window = next(c for c in json.loads(application.checks) if c["name"] == "window")
    assert window["ok"] is True and window["values"]["closes"] == at("2021-12-14T17:00").isoformat()


def test_a_word_form_and_a_pasted_one(engine: Engine) -> None:
    seeded(engine)
    take(engine, application_mail(CONTACT, form_rows(UNIT, 120_000), word=True))
    body = f"单位名称：{OTHER.name}\n统一社会信用代码：{OTHER.code}\n申请抵销量：300000\nCCER项目编号：0158\n"
    take(engine, text_mail("unit2@example.cn", body))
    assert [(a.code, a.requested_t) for a in stored(engine)] == [(UNIT.code, 120_000), (OTHER.code, 300_000)]
