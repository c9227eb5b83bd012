"""Applying a list of 全国履约抵销 operations: each operation once, each state it is reported in once.

An operation is the same operation when its operation number (业务编号) is the same; without one, when its
unit, project, obligation year, operation date and quantity are the same (mail/operation_keys.py). A repeat
adds only a new state, as an event known at the list's instant, so that the state at any past instant can
be read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, select
from sqlmodel import Session

from compliance.names import name_key
from mail.apply import Applied, Context, _insert
from mail.cycles import message_cycle
from mail.operation_keys import natural_key
from mail.records import OperationRecord, RowError
from storage.bulk import among, insert_ids
from storage.cycles import resolve_obligation
from storage.models import OffsetOperation, OperationEvent
from storage.units import UnitIndex

OPERATION: Table = OffsetOperation.__table__  # type: ignore[attr-defined]
EVENT: Table = OperationEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Accepted:
    record: OperationRecord
    key: str
    row: dict[str, object]


def apply_operations(
    session: Session, records: Sequence[OperationRecord], ctx: Context, list_province: str | None
) -> Applied:
    index, applied = UnitIndex.load(session), Applied()
    accepted: dict[str, _Accepted] = {}  # the last row of each operation gives its state in this list
    for record in records:
        unit_id = index.match(record.code, record.name, None)
        unit_province = index.province(unit_id) if unit_id is not None else None
        if unit_province is not None and ctx.province and unit_province != ctx.province:
            applied.errors.append(
                RowError(record.row, f"第{record.row}行：{record.name} 不属于{ctx.province}")
            )
            continue
        cycle = _cycle_of(record, ctx)
        if cycle is None:
            reason = f"第{record.row}行：抵销年度 {record.obligation} 不属于任何已知的履约周期"
            applied.errors.append(RowError(record.row, reason))
            continue
        key = natural_key(record, unit_id)
        province = unit_province or ctx.province or list_province
        accepted[key] = _Accepted(record, key, _operation_row(record, ctx, key, cycle, unit_id, province))
    existing = _existing(session, list(accepted))
    new = [a for a in accepted.values() if a.key not in existing]
    if new:
        ids = insert_ids(session.connection(), OPERATION, [a.row for a in new])
        existing.update({a.key: op_id for a, op_id in zip(new, ids, strict=True)})
    states = _states_known(session, list(existing.values()), ctx)
    events: list[dict[str, object]] = [
        {
            "operation_id": existing[a.key],
            "message_pk": ctx.message_pk,
            "known_at": ctx.known_at,
            "state": a.record.state,
        }
        for a in accepted.values()
        if states.get(existing[a.key]) != a.record.state
    ]
    _insert(session, OperationEvent, events)
    applied.rows = len(events)
    return applied


def _cycle_of(record: OperationRecord, ctx: Context) -> str | None:
    if record.obligation is None:
        return message_cycle(ctx.obligations, ctx.known_at).name
    resolved = resolve_obligation(record.obligation)
    return None if resolved is None else resolved[0].name


def _operation_row(
    record: OperationRecord, ctx: Context, key: str, cycle: str, unit_id: int | None, province: str | None
) -> dict[str, object]:
    return {
        "natural_key": key,
        "cycle": cycle,
        "message_pk": ctx.message_pk,
        "known_at": ctx.known_at,
        "province": province,
        "unit_id": unit_id,
        "row": record.row,
        "name": record.name,
        "name_key": name_key(record.name),
        "code": record.code,
        "project_no": record.project_no,
        "project_name": record.project_name,
        "project_type": record.project_type,
        "obligation": record.obligation,
        "quantity_t": record.quantity_t,
        "operated_on": record.operated_on,
        "operation_no": record.operation_no,
        "ccer_kind": record.ccer_kind,
    }


def _existing(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    connection = session.connection()
    for condition in among(connection, OPERATION.c.natural_key, keys):
        query = select(OPERATION.c.natural_key, OPERATION.c.id).where(condition)
        found.update({key: op_id for key, op_id in connection.execute(query)})
    return found


def _states_known(session: Session, operation_ids: list[int], ctx: Context) -> dict[int, str]:
    """Each operation's state as known at the list's instant (a list may arrive after a later one)."""
    states: dict[int, str] = {}
    connection = session.connection()
    for condition in among(connection, EVENT.c.operation_id, operation_ids):
        query = (
            select(EVENT.c.operation_id, EVENT.c.state)
            .where(condition, EVENT.c.known_at <= ctx.known_at)
            .order_by(EVENT.c.known_at, EVENT.c.id)
        )
        states.update({op_id: state for op_id, state in connection.execute(query)})
    return states
