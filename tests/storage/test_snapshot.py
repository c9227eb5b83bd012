"""A report's statements all see one state of the database, though another writer commits between them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from storage.engine import snapshot_scope
from storage.models import Unit

UNIT = Unit.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def _add_unit(engine: Engine, code: str) -> None:
    with engine.begin() as connection:
        connection.execute(insert(UNIT).values(code=code, province="山东省", name=code, created_at=NOW))


def test_a_snapshot_does_not_see_what_is_committed_after_its_first_read(engine: Engine) -> None:
    _add_unit(engine, "CODE-1")
    counted = select(func.count()).select_from(UNIT)
    with snapshot_scope(engine) as session:
        before = session.execute(counted).scalar_one()
        _add_unit(engine, "CODE-2")  # intake, committing while the report is being read
        during = session.execute(counted).scalar_one()
    with snapshot_scope(engine) as session:
        after = session.execute(counted).scalar_one()
    assert (before, during, after) == (1, 1, 2)
