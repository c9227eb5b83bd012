"""When two rows of operation lists are the same 全国履约抵销 operation."""

from __future__ import annotations

from sqlmodel import Session, select

from compliance.names import name_key
from mail.records import OperationRecord
from mail.vocab import text_key
from storage.models import OffsetOperation, OperationEvent


def natural_key(record: OperationRecord | OffsetOperation, unit_id: int | None) -> str:
    """By operation number; else by the matched unit (or the row's code or name), project, obligation year,
    operation date and quantity."""
    if record.operation_no:
        return f"op:{text_key(record.operation_no)}"
    who = f"unit:{unit_id}" if unit_id is not None else (record.code or f"name:{name_key(record.name)}")
    return (
        f"record:{who}|{record.project_no or ''}|{record.obligation or ''}"
        f"|{record.operated_on.isoformat()}|{record.quantity_t}"
    )


def rekey_matched(session: Session, operation: OffsetOperation) -> None:
    """An operation kept unmatched has just found its unit: key it as a matched one, and if the same
    operation was reported again under that key meanwhile, keep one operation with all its states."""
    key = natural_key(operation, operation.unit_id)
    if key == operation.natural_key:
        return
    twin = session.exec(select(OffsetOperation).where(OffsetOperation.natural_key == key)).first()
    if twin is None:
        operation.natural_key = key
        return
    for event in session.exec(select(OperationEvent).where(OperationEvent.operation_id == operation.id)):
        event.operation_id = twin.id or 0
    session.flush()
    session.delete(operation)
