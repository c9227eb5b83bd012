"""Emitters' application forms into proposals: matched to their unit, checked, stored for an officer.

An application is a message from an emitter, not from a trusted sender: it changes no unit's state. It
waits for an officer's decision (bot/chat/applications.py); the weekly summary the province sends then
carries the decisions, and that summary, read back like any other, is what changes the state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlmodel import Session

from compliance.applications import Project, check_application
from compliance.divisions import province_of_code
from mail.cycles import message_cycle
from mail.records import ApplicationForm
from storage import applications
from storage.models import OffsetApplication, OffsetApplicationProject, Unit
from storage.state import known_units
from storage.units import UnitIndex


def store_forms(
    session: Session,
    message_pk: int,
    forms: Sequence[ApplicationForm],
    sender: str | None,
    received_at: datetime,
) -> list[int]:
    """One application per form, each with what the checks found; their ids."""
    index = UnitIndex.load(session)
    return [_store(session, index, message_pk, form, sender, received_at) for form in forms]


def _store(
    session: Session,
    index: UnitIndex,
    message_pk: int,
    form: ApplicationForm,
    sender: str | None,
    received_at: datetime,
) -> int:
    cycle = message_cycle((), received_at)
    unit_id = index.match(form.code, form.name, form.account_no)
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    known = known_units(session, received_at, codes=[unit.code], cycle=cycle.name) if unit else []
    roster_due = known[0].allowances_due_t if known else None
    earlier = applications.earlier_pending(session, unit_id, form.code, cycle.name)
    checks = check_application(
        cycle,
        received_at,
        problems=form.problems,
        matched=unit is not None,
        roster_due_t=roster_due,
        requested_t=form.requested_t,
        projects=[Project(p.project_no, p.vintage_end) for p in form.projects],
        earlier_pending=earlier,
    )
    application = OffsetApplication(
        message_pk=message_pk,
        cycle=cycle.name,
        province=unit.province if unit else province_of_code(form.code),
        unit_id=unit_id,
        code=unit.code if unit else form.code,
        name=unit.name if unit else (form.name or form.code or ""),
        sender=(sender or "").lower() or None,
        received_at=received_at,
        allowances_due_t=form.allowances_due_t,
        requested_t=form.requested_t,
        account_no=form.account_no,
        checks=json.dumps([asdict(c) for c in checks], ensure_ascii=False),
        problems=json.dumps(list(form.problems), ensure_ascii=False),
    )
    projects = [
        OffsetApplicationProject(
            application_id=0,
            project_no=p.project_no,
            project_name=p.project_name,
            vintage_start=p.vintage_start,
            vintage_end=p.vintage_end,
            requested_t=p.requested_t,
        )
        for p in form.projects
    ]
    return applications.add(session, application, projects)
