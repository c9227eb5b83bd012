"""Every text of the cycle renders, in both languages and for both channels, with nothing left blank."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.notices.anomalies import enqueue_new_anomalies
from bot.notices.failures import enqueue_delivery_failed
from bot.notices.reminders import enqueue_due
from compliance.cycle import load_cycle
from compliance.kinds import ALL_KINDS
from storage import access, outbox
from storage.engine import session_scope

CYCLE = load_cycle("2019-2020")


CHASE_DEADLINES = {
    "zh": "CCER 注销截止时间 2021年12月15日 17:00 已过：确认抵销 642,000 吨，截止前注销 214,000 吨；"
    "该单位须在履约截止时间 2021年12月31日 17:00 前以配额补足",
    "en": "The CCER cancellation deadline 2021-12-15 17:00 has passed: confirmed 642,000 t, cancelled in "
    "time 214,000 t; the unit must make up the rest in allowances by the compliance deadline, "
    "2021-12-31 17:00",
}


@pytest.mark.parametrize("lang, deadlines", CHASE_DEADLINES.items())
def test_the_chase_names_both_deadlines(
    lang: str, deadlines: str, sample_engine: Engine, sample_settings: Settings
) -> None:
    """An officer chasing a unit the morning after the cancellation deadline is told by when it must make
    up the rest: the compliance deadline, by its date."""
    settings = Settings(**{**sample_settings.model_dump(), "lang": lang})
    morning = datetime(2021, 12, 16, 9, tzinfo=CYCLE.tz)
    with session_scope(sample_engine) as session:
        access.bind(session, 7001, "officer", morning, province="山东省")
        access.set_language(session, 7001, lang)
    enqueue_new_anomalies(sample_engine, settings, CYCLE, morning)
    chases = outbox.items(sample_engine)
    [chase] = [i for i in chases if i.kind == "not_cancelled_by_deadline" and i.recipient == "7001"]
    assert "913703082HD1TJ3Y9U" in chase.body
    assert deadlines in chase.body


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_kind_of_the_cycle_renders_for_chat_and_mail(
    lang: str, sample_engine: Engine, sample_settings: Settings
) -> None:
    settings = Settings(**{**sample_settings.model_dump(), "lang": lang})
    first = datetime.combine(CYCLE.window_opens.date(), CYCLE.reminder_time, tzinfo=CYCLE.tz)
    with session_scope(sample_engine) as session:
        access.bind(session, 4242, "emitter", first, unit_code="913703082HD1TJ3Y9U")
        access.bind(session, 7001, "officer", first, province="山东省")
        for chat in (4242, 7001):
            access.set_language(session, chat, lang)
    day = first
    while day.date() <= CYCLE.report_due:
        enqueue_due(sample_engine, settings, CYCLE, day)
        day += timedelta(days=1)
    enqueue_new_anomalies(sample_engine, settings, CYCLE, day)
    failed = outbox.items(sample_engine)[0]
    enqueue_delivery_failed(sample_engine, settings, CYCLE, failed, "TemporaryError: 502", day)
    written = outbox.items(sample_engine)
    kinds = {i.kind for i in written}
    # the corpus starts with applications under way: the first kinds of the cycle do not lead a message
    assert set(ALL_KINDS) - {"submit_application", "await_confirmation", "submit_compliance"} <= kinds
    assert {"offset_over_cap", "delivery_failed"} <= kinds
    for item in written:
        text = item.body + item.subject
        assert item.body and "None" not in text and "{{" not in text, item.key
        assert (item.channel == "email") == bool(item.subject), item.key
        assert ("<b>" in item.body) == (item.channel == "telegram"), item.key
        if lang == "en":
            assert "履约提醒" not in text and "您好" not in text, item.key
