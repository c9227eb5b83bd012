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
