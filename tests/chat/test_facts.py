"""The chat's lean reads give exactly what storage and bot.reports give."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.chat_status import populate as populate_many
from bot.reports import NotFound, unit_report
from bot.telegram import facts
from bot.telegram.views import identify
from compliance.cycle import Cycle
from storage import access
from storage.engine import session_scope
from storage.models import Unit
from tests.chat.data import NOW, populate

INSTANTS = [NOW + timedelta(days=d) for d in (-40, -8, -5, -1, 0, 3, 6, 22, 40)]


def codes_of(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return [u.code for u in session.exec(select(Unit))]


def assert_same(engine: Engine, cycle: Cycle, code: str, at: datetime) -> None:
    try:
        expected = unit_report(engine, cycle, code, at)
    except NotFound:
        expected = None
    assert facts.unit_report(engine, cycle, code, at) == expected, (code, at)


def test_every_unit_of_the_story_at_every_instant(engine: Engine, cycle: Cycle) -> None:
    populate(engine)
    for code in codes_of(engine):
        for at in INSTANTS:
            assert_same(engine, cycle, code, at)


@pytest.mark.parametrize("seed", [1, 2])
def test_many_generated_units(sqlite_engine: Engine, cycle: Cycle, seed: int) -> None:
    codes = populate_many(sqlite_engine, 150, seed=seed)
    for code in codes[::3]:
        for at in (NOW, NOW + timedelta(days=30)):
            assert_same(sqlite_engine, cycle, code, at)


def test_identify_reads_what_access_says(engine: Engine) -> None:
    with session_scope(engine) as session:
        access.set_language(session, 1, "en")
        access.bind(session, 2, "officer", NOW, province="山东省")
        access.bind(session, 3, "emitter", NOW, unit_code="91370000MA0000001T")
        access.set_language(session, 3, "en")
    for chat_id in (1, 2, 3, 4):
        with session_scope(engine) as session:
            expected = (access.identity(session, chat_id), access.language(session, chat_id))
        assert identify(engine, chat_id) == expected
