"""Migration 0006_chat_platforms: a Telegram chat bound before it is still bound, with the same id, after it;
a person may then be bound on several platforms."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, insert, select
from sqlalchemy.engine import Engine

from storage import access
from storage.engine import make_engine, session_scope
from storage.migrate import alembic_config, current_revision, head_revision
from storage.models import ContactChange, OneTimeCode
from storage.peer import Peer
from tests.db import database_url

NOW = datetime(2021, 11, 1, 2, 0, tzinfo=UTC)
BEFORE = NOW.replace(tzinfo=None)  # as the old revisions store instants
UNIT = "9137132112TH3BJ194"
OFFICER = 5_000_000_001  # beyond 32 bits, as Telegram's group ids are
EMITTER = -1001234567890


@pytest.fixture(params=["sqlite", "postgres"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at revision 0005, holding Telegram chats, bound and not."""
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        command.upgrade(alembic_config(engine), "0005_contacts")
        try:
            _fill(engine)
            yield engine
        finally:
            engine.dispose()


def _fill(engine: Engine) -> None:
    tables = MetaData()
    tables.reflect(engine)
    t = tables.tables
    with engine.begin() as db:
        db.execute(
            insert(t["chatbinding"]),
            [
                {"chat_id": OFFICER, "role": "officer", "unit_code": None, "province": "山东省", "lang": "en",
                 "bound_at": BEFORE},
                {"chat_id": EMITTER, "role": "emitter", "unit_code": UNIT, "province": None, "lang": "zh",
                 "bound_at": BEFORE},
            ],
        )  # fmt: skip
        db.execute(insert(t["chatpreference"]), {"chat_id": 77, "lang": "en"})
        db.execute(insert(t["bindattempt"]), [{"chat_id": 77, "at": BEFORE, "ok": False}] * 5)
        db.execute(
            insert(t["onetimecode"]),
            {"code_hash": "x" * 64, "role": "emitter", "unit_code": UNIT, "created_at": BEFORE,
             "expires_at": BEFORE, "used_at": BEFORE, "used_by_chat": EMITTER},
        )  # fmt: skip
        db.execute(
            insert(t["unit"]),
            {"id": 1, "code": UNIT, "province": "山东省", "name": "甲", "created_at": BEFORE},
        )
        db.execute(
            insert(t["inboundmessage"]),
            {"id": 1, "raw": b"r", "kind": "roster", "state": "done", "sent_at": BEFORE, "content_hash": "h",
             "source": "a.eml", "sender": "s@x", "subject": "s", "received_at": BEFORE, "trusted": True,
             "attempts": 1, "rows_applied": 0, "row_errors": "[]", "outcome": "applied"},
        )  # fmt: skip
        db.execute(
            insert(t["contactchange"]),
            {"unit_id": 1, "message_pk": 1, "new_address": "n@x", "known_at": BEFORE, "usable_from": BEFORE,
             "confirmed_at": BEFORE, "confirmed_by": OFFICER},
        )  # fmt: skip


def _upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")
    assert current_revision(engine) == head_revision(engine)


def test_telegram_chats_bound_before_stay_bound(old_engine: Engine) -> None:
    _upgrade(old_engine)
    with session_scope(old_engine) as session:
        officer = access.identity(session, Peer("telegram", str(OFFICER)))
        emitter = access.identity(session, EMITTER)  # a number is a Telegram chat, as before
        assert officer == access.Identity(Peer("telegram", str(OFFICER)), "officer", None, "山东省", "en")
        assert emitter is not None and (emitter.role, emitter.unit_code) == ("emitter", UNIT)
        assert [b.platform for b in access.officer_chats(session, "山东省")] == ["telegram"]
        assert [b.chat_id for b in access.chats_for_unit(session, UNIT)] == [str(EMITTER)]
        assert access.language(session, 77) == "en"  # an unbound chat's language is kept too
        assert access.failures_last_hour(session, 77, NOW) == 5  # and its tries still count
        assert access.identity(session, Peer("dingtalk", str(OFFICER))) is None  # same id, other platform
        used = session.execute(select(OneTimeCode.used_by_chat)).scalar_one()
        confirmed = session.execute(select(ContactChange.confirmed_by)).scalar_one()
    assert (used, confirmed) == (f"telegram:{EMITTER}", f"telegram:{OFFICER}")


def test_after_it_one_person_is_bound_on_several_platforms(old_engine: Engine) -> None:
    _upgrade(old_engine)
    feishu = Peer("feishu", "ou_7d8a6e6df7621556ce0d21922b676706ccs")
    with session_scope(old_engine) as session:
        access.bind(session, feishu, "emitter", NOW, unit_code=UNIT)
    with session_scope(old_engine) as session:
        chats = sorted((b.platform, b.chat_id) for b in access.chats_for_unit(session, UNIT))
        assert chats == [("feishu", feishu.id), ("telegram", str(EMITTER))]
        assert access.unbind(session, feishu)
    with session_scope(old_engine) as session:
        assert access.identity(session, EMITTER) is not None  # unbinding one platform leaves the other


def test_it_goes_down_keeping_telegram_chats_and_up_again(old_engine: Engine) -> None:
    _upgrade(old_engine)
    with session_scope(old_engine) as session:
        access.bind(session, Peer("dingtalk", "manager4220"), "officer", NOW, province="*")
    command.downgrade(alembic_config(old_engine), "0005_contacts")
    _upgrade(old_engine)
    with session_scope(old_engine) as session:
        assert access.identity(session, OFFICER) is not None
        assert access.identity(session, Peer("dingtalk", "manager4220")) is None
        assert access.language(session, 77) == "en"
