"""The unit index a message matches rows with: its additions are the message's own until it commits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from compliance.names import name_key
from storage.bulk import insert_ids, insert_rows
from storage.engine import session_scope
from storage.units import ALIAS, UNIT, UnitIndex

NOW = datetime(2026, 12, 5, tzinfo=UTC)
CODE = "91370100MA3C000011"


def _unit(engine: Engine) -> int:
    with engine.begin() as connection:
        unit = {"code": CODE, "province": "山东省", "name": "甲公司", "created_at": NOW}
        (unit_id,) = insert_ids(connection, UNIT, [unit])
        insert_rows(connection, ALIAS, [{"unit_id": unit_id, "kind": "code", "key": CODE}])
    return unit_id


def test_a_message_s_additions_leave_the_cached_index_as_it_was_when_it_rolls_back(engine: Engine) -> None:
    unit_id = _unit(engine)
    new_name = name_key("甲公司（新名）")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        index = UnitIndex.load(session)
        names = index.by_kind["name"]
        names[new_name] = unit_id
        index.provinces[unit_id] = "江苏省"
        assert (index.match(CODE, None, None), index.match(None, "甲公司（新名）", None)) == (
            unit_id,
            unit_id,
        )
        assert (new_name in names, names.get(new_name), names.get("别的", -1)) == (True, unit_id, -1)
        assert index.province(unit_id) == "江苏省"
        raise RuntimeError("the message fails: its transaction rolls back")
    with session_scope(engine) as session:
        again = UnitIndex.load(session)
        assert again.match(CODE, None, None) == unit_id  # the cached table, read through the new layer
        assert new_name not in again.by_kind["name"] and again.by_kind["name"].get(new_name) is None
        assert again.province(unit_id) == "山东省"
