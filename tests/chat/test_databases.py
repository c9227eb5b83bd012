"""The chat's own queries (quarantine, outbox, bindings) on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from compliance.cycle import Cycle
from storage import access, outbox
from storage.engine import session_scope
from tests.chat.conftest import chat_on, officer, words
from tests.chat.data import NOW, SHANDONG, populate


def test_officer_views_and_binding_by_mail(engine: Engine, cycle: Cycle) -> None:
    story = populate(engine)
    chat = chat_on(engine, cycle)
    assert "被隔离的邮件：1 封" in words(chat(21, "/overview", officer()))
    assert "附件无法读取" in words(chat(21, "/quarantine", officer()))
    assert "2 封" in words(chat(31, "/quarantine", officer("*", 31)))
    for n in range(4):
        chat(60 + n, f"/bind {story.applied}")
    [first, *_] = items = outbox.items(engine)
    assert len(items) == 3 and first.recipient == story.email
    plain = first.body.split("/bind ")[1].split()[0]
    assert "绑定成功" in words(chat(60, f"/bind {plain}"))
    with session_scope(engine) as session:
        who = access.identity(session, 60)
    assert who is not None and who.unit_code == story.applied
    assert "履约概况" in words(chat(21, f"/overview {SHANDONG}", officer(), now=NOW))
