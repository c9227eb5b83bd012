"""Ids chosen before a bulk insert are the ones the database would give, and no other writer can take
them between the choice and the insert."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from storage.bulk import among, insert_ids, insert_rows
from storage.columns import UTCDateTime
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import ImapCursor, Unit

UNIT = Unit.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 10, 9, tzinfo=UTC)


def _units(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"code": f"CODE{n:014d}", "province": "山东省", "name": f"单位{n}", "created_at": NOW}
        for n in range(first, first + count)
    ]


def test_ids_follow_the_highest_in_the_rows_order(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    upgrade(engine)
    with engine.begin() as connection:
        first = insert_ids(connection, UNIT, _units(1, 3))
        second = insert_ids(connection, UNIT, _units(4, 2))
        stored = dict(connection.execute(select(UNIT.c.code, UNIT.c.id)).all())
    assert first == [1, 2, 3] and second == [4, 5]
    assert [stored[f"CODE{n:014d}"] for n in range(1, 6)] == [1, 2, 3, 4, 5]


def test_another_writer_cannot_take_the_chosen_ids(tmp_path: Path) -> None:
    """Another process writes right after the highest id is read: it must wait, not take the next id."""
    path = tmp_path / "race.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    refused: list[str] = []

    def other_writer(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT MAX"):
            other = sqlite3.connect(path, timeout=0)
            try:
                other.execute(
                    "INSERT INTO unit (code, province, name, created_at) VALUES (?, ?, ?, ?)",
                    ("OTHER000000000001", "山东省", "别的单位", "2026-10-09 00:00:00.000000"),
                )
                other.commit()
            except sqlite3.OperationalError as error:  # locked: it waits for this transaction
                refused.append(str(error))
            finally:
                other.close()

    event.listen(engine, "after_cursor_execute", other_writer)
    with engine.begin() as connection:
        ids = insert_ids(connection, UNIT, _units(1, 3))
    event.remove(engine, "after_cursor_execute", other_writer)
    assert ids == [1, 2, 3]
    assert refused and "locked" in refused[0]
    with engine.begin() as connection:  # and once it is committed, the other writer gets the next id
        connection.execute(insert(UNIT), _units(10, 1))
        assert connection.execute(select(UNIT.c.id).where(UNIT.c.code == f"CODE{10:014d}")).scalar() == 4


def test_rows_inserted_at_once_are_what_an_insert_would_store(engine: Engine) -> None:
    """On PostgreSQL by COPY, which no column type sees: a time in Beijing is still kept as that instant."""
    beijing = datetime(2023, 10, 10, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows = [{**unit, "created_at": beijing} for unit in _units(1, 2)]
    rows[1]["name"] = "名称里有\t制表符、\\反斜杠和\n换行"  # what COPY's text format must escape
    with engine.begin() as connection:
        insert_rows(connection, UNIT, rows)
        stored = connection.execute(select(UNIT.c.code, UNIT.c.name, UNIT.c.created_at).order_by(UNIT.c.id))
        found = [tuple(row) for row in stored]
    assert found == [(row["code"], row["name"], beijing) for row in rows]


def test_a_column_left_out_gets_its_default(engine: Engine) -> None:
    """COPY and the driver's own executemany know no column defaults: rows that leave one out still get
    it."""
    cursor = ImapCursor.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        insert_rows(connection, cursor, [{"mailbox": "bot@example.cn/INBOX", "uidvalidity": 7}])
        stored = connection.execute(select(cursor.c.mailbox, cursor.c.last_uid)).all()
    assert [tuple(row) for row in stored] == [("bot@example.cn/INBOX", 0)]


def test_many_keys_are_found_in_one_statement_on_postgres_and_in_lists_of_500_on_sqlite(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        insert_ids(connection, UNIT, _units(1, 1_234))
        wanted = [f"CODE{n:014d}" for n in range(1, 1_300)]  # 65 of them are no unit's
        conditions = among(connection, UNIT.c.code, wanted)
        assert among(connection, UNIT.c.code, []) == []
        found = [
            code
            for condition in conditions
            for code in connection.execute(select(UNIT.c.code).where(condition)).scalars()
        ]
    assert sorted(found) == [f"CODE{n:014d}" for n in range(1, 1_235)]
    assert len(conditions) == (1 if engine.dialect.name == "postgresql" else 3)


def test_every_column_type_goes_in_as_an_insert_would_store_it(engine: Engine) -> None:
    """On PostgreSQL in COPY's binary format, each value as its column's type: none is read from text."""
    table = Table(
        "everytype",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("count", BigInteger),
        Column("flag", Boolean),
        Column("day", Date),
        Column("at", UTCDateTime),
        Column("code", String(18)),
        Column("note", Text),
        Column("data", LargeBinary),
    )
    table.create(engine)
    beijing = datetime(2023, 10, 10, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows: list[dict[str, Any]] = [
        {"count": 9_000_000_000, "flag": True, "day": date(2026, 12, 31), "at": beijing,
         "code": "91370900MA3C00007X", "note": "名称\t里有\\和\n换行", "data": b"\x00\xff\\"},
        {"count": None, "flag": False, "day": None, "at": None, "code": None, "note": "", "data": None},
    ]  # fmt: skip
    with engine.begin() as connection:
        insert_rows(connection, table, rows, ids=[7, 8])
        stored = [row._asdict() for row in connection.execute(select(table).order_by(table.c.id))]
    assert stored == [{"id": 7, **rows[0]}, {"id": 8, **rows[1]}]
