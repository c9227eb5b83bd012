"""The composed summary is a full snapshot: a unit the province reported only in a summary it sent by hand
is carried into the composed one with its lines as that summary had them, so a province mixing the two
loses nobody when the composed summary is read back."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy.engine import Engine

from bot.notices.applications_summary import friday, subject
from compliance.cycle import load_cycle
from mail import intake
from storage import applications
from storage.engine import session_scope
from tests.applications.forms import application_mail, form_rows
from tests.intake.world import (
    CONFIG,
    SD,
    SD_UNITS,
    at,
    roster_mail,
    status,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.mail.corpus import XLSX_TYPE, build_message
from tests.told import settings_like

CYCLE = load_cycle("2019-2020")


def take(engine: Engine, raw: bytes, when: str) -> intake.Outcome:
    return intake.take(engine, raw, "mail.eml", CONFIG, at(when))


def test_units_of_a_hand_made_summary_stay_in_the_composed_one(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    settings = settings_like(CONFIG, database_url=engine.url.render_as_string(hide_password=False))
    jinan, qingdao, yantai = SD_UNITS
    assert take(engine, roster_mail(SD, SD_UNITS), "2021-10-25T15:00").outcome == "applied"
    # last week the province sent its summary by hand: 烟台 confirmed, 青岛 waiting
    by_hand = weekly_rows([(yantai, 90_000, "已确认"), (qingdao, 300_000, "待确认")], "2021-10-29")
    mailed = xlsx_mail(SD, weekly_subject("山东省", "2021年10月29日"), "2021-10-29T16:00", by_hand)
    assert take(engine, mailed, "2021-10-29T16:00").outcome == "applied"
    assert status(engine, yantai, at("2021-10-30T09:00")).status.application == "confirmed"

    # this week 济南 and 青岛 applied through ccerbot and were confirmed
    take(engine, application_mail("unit1@example.cn", form_rows(jinan, 150_000)), "2021-11-01T10:00")
    take(engine, application_mail("unit2@example.cn", form_rows(qingdao, 400_000)), "2021-11-01T11:00")
    with session_scope(engine) as session:
        for number in (1, 2):
            assert applications.decide(session, number, "confirmed", "console:1", at("2021-11-02T09:00"))

    assert friday(engine, settings, CYCLE, at("2021-11-05T09:30")) > 0
    with session_scope(engine) as session:
        draft = applications.latest_draft(session, "山东省")
        assert draft is not None
        xlsx, units = draft.xlsx, draft.units
    assert units == 3
    rows = [r for r in openpyxl.load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    carried = next(r for r in rows if r[3] == yantai.code)
    assert (carried[5], carried[9]) == (90_000, "已确认")  # as the hand-made summary had it
    assert sum(1 for r in rows if r[3] == qingdao.code) == 1  # 青岛's application speaks for it, once

    # read back from the province's address: 烟台 is still confirmed, 青岛 now confirmed at 400,000
    composed = build_message(
        sender=SD,
        to="registry@ccersc.org.cn",
        subject=subject("山东省", at("2021-11-05T09:30").date()),
        date=at("2021-11-05T10:00"),
        attachments=[("汇总表.xlsx", xlsx, XLSX_TYPE)],
    )
    back = take(engine, composed, "2021-11-05T10:00")
    assert (back.outcome, back.rows_applied) == ("applied", 3)
    later = at("2021-11-06T09:00")
    assert status(engine, yantai, later).status.application == "confirmed"
    assert status(engine, qingdao, later).status.confirmed_t == 400_000
    assert status(engine, jinan, later).status.confirmed_t == 150_000
