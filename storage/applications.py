"""Emitters' applications and the weekly summaries composed from the officers' decisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from storage.models import (
    ApplicationLine,
    OffsetApplication,
    OffsetApplicationProject,
    SummaryDraft,
    WeeklySnapshot,
)

OPEN = "pending"
DECIDED = ("confirmed", "returned")


@dataclass(frozen=True)
class Decision:
    application: OffsetApplication
    changed: bool  # False: someone had decided it already (two officers pressing at once)


def add(
    session: Session, application: OffsetApplication, projects: Sequence[OffsetApplicationProject]
) -> int:
    session.add(application)
    session.flush()
    for project in projects:
        project.application_id = application.id or 0
        session.add(project)
    return application.id or 0


def projects_of(session: Session, application_id: int) -> list[OffsetApplicationProject]:
    query = select(OffsetApplicationProject).where(OffsetApplicationProject.application_id == application_id)
    return list(session.exec(query.order_by(col(OffsetApplicationProject.id))))


def earlier_pending(session: Session, unit_id: int | None, code: str | None, cycle: str) -> int | None:
    """The unit's application still waiting for a decision, if there is one."""
    if unit_id is None and code is None:
        return None
    query = select(OffsetApplication.id).where(
        OffsetApplication.state == OPEN, OffsetApplication.cycle == cycle
    )
    if unit_id is not None:
        query = query.where(OffsetApplication.unit_id == unit_id)
    else:
        query = query.where(OffsetApplication.code == code)
    return session.exec(query.order_by(col(OffsetApplication.id))).first()


def queue(session: Session, province: str, cycle: str) -> list[OffsetApplication]:
    """A province's applications of the cycle: waiting ones first (oldest first), then the decided ones."""
    query = select(OffsetApplication).where(OffsetApplication.cycle == cycle)
    if province != "*":
        query = query.where(OffsetApplication.province == province)
    found = list(session.exec(query.order_by(col(OffsetApplication.id))))
    return [a for a in found if a.state == OPEN] + [a for a in reversed(found) if a.state != OPEN]


def decide(
    session: Session, application_id: int, state: str, by: str, at: datetime, reason: str | None = None
) -> Decision | None:
    """Confirm or return a waiting application; an application decided already stays as it was."""
    assert state in DECIDED
    application = session.get(OffsetApplication, application_id)
    if application is None:
        return None
    if application.state != OPEN:
        return Decision(application, False)
    application.state, application.decided_by, application.decided_at = state, by, at
    application.reason = reason
    return Decision(application, True)


def latest_by_unit(
    session: Session, province: str, cycle: str, until: datetime
) -> list[tuple[OffsetApplication, list[OffsetApplicationProject]]]:
    """Each unit's latest application received by `until`: what the province's summary reports."""
    query = (
        select(OffsetApplication)
        .where(
            OffsetApplication.province == province,
            OffsetApplication.cycle == cycle,
            col(OffsetApplication.received_at) <= until,
        )
        .order_by(col(OffsetApplication.received_at), col(OffsetApplication.id))
    )
    latest: dict[object, OffsetApplication] = {}
    for application in session.exec(query):
        latest[application.unit_id or application.code or application.name] = application
    return [(a, projects_of(session, a.id or 0)) for a in latest.values()]


def last_summary_lines(session: Session, province: str, cycle: str, until: datetime) -> list[ApplicationLine]:
    """The lines of the province's newest summary known by `until` (sent by hand or composed): a full
    snapshot, so units the officers reported by hand are in it with their lines as reported."""
    query = (
        select(WeeklySnapshot)
        .where(
            WeeklySnapshot.province == province,
            WeeklySnapshot.cycle == cycle,
            col(WeeklySnapshot.known_at) <= until,
        )
        .order_by(col(WeeklySnapshot.as_of).desc(), col(WeeklySnapshot.known_at).desc())
        .order_by(col(WeeklySnapshot.id).desc())
    )
    snapshot = session.exec(query).first()
    if snapshot is None:
        return []
    lines = select(ApplicationLine).where(ApplicationLine.snapshot_id == snapshot.id)
    return list(session.exec(lines.order_by(col(ApplicationLine.row), col(ApplicationLine.id))))


def checks_of(application: OffsetApplication) -> list[dict[str, object]]:
    loaded = json.loads(application.checks or "[]")
    return loaded if isinstance(loaded, list) else []


def problems_of(application: OffsetApplication) -> list[str]:
    loaded = json.loads(application.problems or "[]")
    return [str(p) for p in loaded] if isinstance(loaded, list) else []


# ---- the weekly summary ------------------------------------------------------------------------------


def draft_on(session: Session, province: str, as_of: date) -> SummaryDraft | None:
    query = select(SummaryDraft).where(SummaryDraft.province == province, SummaryDraft.as_of == as_of)
    return session.exec(query).first()


def latest_draft(session: Session, province: str) -> SummaryDraft | None:
    query = select(SummaryDraft).where(SummaryDraft.province == province)
    return session.exec(query.order_by(col(SummaryDraft.as_of).desc())).first()


def approve(session: Session, draft_id: int, by: str, at: datetime) -> SummaryDraft | None:
    """Mark a shown draft sent; None when there is none or it has been sent already."""
    draft = session.get(SummaryDraft, draft_id)
    if draft is None or draft.state != "shown":
        return None
    draft.state, draft.approved_by, draft.approved_at = "sent", by, at
    return draft
