from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from storage import access
from storage.engine import session_scope

NOW = datetime(2021, 11, 1, 2, 0, tzinfo=UTC)


def test_a_code_binds_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        code = access.new_code(session, role="emitter", unit_code="9137132112TH3BJ194", now=NOW)
    with session_scope(engine) as session:
        who = access.redeem(session, 100, code.lower(), NOW)
    assert who is not None and (who.role, who.unit_code) == ("emitter", "9137132112TH3BJ194")
    with session_scope(engine) as session:
        assert access.redeem(session, 200, code, NOW) is None
        assert access.identity(session, 200) is None
        assert access.identity(session, 100) == who


def test_an_expired_code_does_not_bind(engine: Engine) -> None:
    with session_scope(engine) as session:
        code = access.new_code(session, role="officer", province="山东省", now=NOW)
    with session_scope(engine) as session:
        assert access.redeem(session, 7, code, NOW + access.CODE_TTL + timedelta(seconds=1)) is None


def test_guessing_is_throttled_per_chat_and_hour(engine: Engine) -> None:
    with session_scope(engine) as session:
        good = access.new_code(session, role="officer", province="广东省", now=NOW)
    for n in range(access.MAX_FAILURES_PER_HOUR):
        with session_scope(engine) as session:
            assert access.redeem(session, 9, f"WRONG{n:03d}", NOW) is None
    with session_scope(engine) as session, pytest.raises(access.Throttled):
        access.redeem(session, 9, good, NOW + timedelta(minutes=30))
    with session_scope(engine) as session:
        assert access.redeem(session, 10, good, NOW) is not None  # another chat is not held back
    with session_scope(engine) as session:
        later = access.new_code(session, role="officer", province="广东省", now=NOW)
    with session_scope(engine) as session:
        assert access.redeem(session, 9, later, NOW + timedelta(hours=1, seconds=1)) is not None


def test_language_follows_the_chat_before_and_after_binding(engine: Engine) -> None:
    with session_scope(engine) as session:
        access.set_language(session, 5, "en")
        code = access.new_code(session, role="officer", province="*", now=NOW)
    with session_scope(engine) as session:
        assert access.language(session, 5) == "en"
        who = access.redeem(session, 5, code, NOW)
    assert who is not None and who.lang == "en"
    with session_scope(engine) as session:
        assert access.unbind(session, 5)
        assert not access.unbind(session, 5)
