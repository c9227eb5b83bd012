"""Step 5's stamped screenshots of the cancellation, filed against their unit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import CancellationScreenshot


def file(
    session: Session,
    unit_id: int,
    cycle: str,
    source: str,
    files: list[tuple[str | None, str, bytes]],
    at: datetime,
    message_pk: int | None = None,
) -> int:
    """Keep the files (name, type, bytes) against the unit; a message filed before is not filed twice."""
    if message_pk is not None:
        query = select(CancellationScreenshot.id).where(
            CancellationScreenshot.message_pk == message_pk, CancellationScreenshot.unit_id == unit_id
        )
        if session.exec(query).first() is not None:
            return 0
    # one row per message and unit: several files of one mail are one proof, the first file kept whole
    name, content_type, data = files[0]
    session.add(
        CancellationScreenshot(
            unit_id=unit_id,
            cycle=cycle,
            message_pk=message_pk,
            source=source,
            filename=name,
            content_type=content_type,
            data=data,
            received_at=at,
        )
    )
    return 1


def latest_of(session: Session, unit_id: int, cycle: str) -> CancellationScreenshot | None:
    query = select(CancellationScreenshot).where(
        CancellationScreenshot.unit_id == unit_id, CancellationScreenshot.cycle == cycle
    )
    return session.exec(query.order_by(col(CancellationScreenshot.received_at).desc())).first()


def units_with(session: Session, cycle: str) -> set[int]:
    query = select(CancellationScreenshot.unit_id).where(CancellationScreenshot.cycle == cycle)
    return set(session.exec(query))
