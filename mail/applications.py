"""Emitters' application forms into proposals: matched to their unit, checked, stored for an officer.

An application is a message from an emitter, not from a trusted sender: it changes no unit's state. It
waits for an officer's decision (bot/chat/applications.py); the weekly summary the province sends then
carries the decisions, and that summary, read back like any other, is what changes the state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from compliance.applications import Project, check_application
from compliance.cycle import with_overrides
from compliance.divisions import province_of_code
from mail.cycles import message_cycle
from mail.records import ApplicationForm
from storage import applications, contacts
from storage.models import InboundMessage, OffsetApplication, OffsetApplicationProject, Unit
from storage.state import known_units
from storage.units import UnitIndex

# An address that is no unit's contact on file puts at most this many applications a day to the officers
# (`[applications] stranger_daily_limit`); beyond it, and for a unit already waiting for a decision, its
# mail is kept with the reason and the officers hear of it in one digest an hour, not one by one.
STRANGER_APPLICATIONS_PER_DAY = 3


def store_forms(
    session: Session,
    message_pk: int,
    forms: Sequence[ApplicationForm],
    sender: str | None,
    received_at: datetime,
    cycle_overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> list[int]:
    """One application per form, each with what the checks found; their ids. `cycle_overrides`: the
    configured corrections of the cycles ([cycle_overrides]), applied to the cycle the checks read."""
    index = UnitIndex.load(session)
    overrides = cycle_overrides or {}
    return [_store(session, index, message_pk, form, sender, received_at, overrides) for form in forms]


def _store(
    session: Session,
    index: UnitIndex,
    message_pk: int,
    form: ApplicationForm,
    sender: str | None,
    received_at: datetime,
    overrides: Mapping[str, Mapping[str, object]],
) -> int:
    found = message_cycle((), received_at)
    cycle = with_overrides(found, overrides.get(found.name, {}))  # the window as configured, not as bundled
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


@dataclass(frozen=True)
class Held:
    """Why a stranger's application is kept rather than put to the officers, and whose they are."""

    reason: str
    province: str | None


def held_because(
    session: Session,
    sender: str | None,
    forms: Sequence[ApplicationForm],
    received_at: datetime,
    now: datetime,
    limit: int,
) -> Held | None:
    """None when the forms go to the officers: from a unit's contact address on file, always; from any
    other address, up to `limit` applications in 24 hours (counted by when they reached the bot, not by
    their Date line, which the sender writes), and none for a unit that already waits for a decision."""
    address = (sender or "").strip().lower()
    if address and contacts.units_at(session, address, now):
        return None
    index = UnitIndex.load(session)
    matched = [(form, index.match(form.code, form.name, form.account_no)) for form in forms]
    units = [session.get(Unit, unit_id) if unit_id is not None else None for _, unit_id in matched]
    province = next(
        (
            u.province if u is not None else province_of_code(f.code)
            for (f, _), u in zip(matched, units, strict=True)
        ),
        None,
    )
    filed = _filed_since(session, address or None, now - timedelta(days=1))
    if filed + len(forms) > limit:
        return Held(
            f"该地址不是名录中任何单位的联系邮箱，24 小时内已提交 {filed} 份申请，每日至多 {limit} 份",
            province,
        )
    cycle = message_cycle((), received_at).name
    for (form, unit_id), unit in zip(matched, units, strict=True):
        if (earlier := applications.earlier_pending(session, unit_id, form.code, cycle)) is not None:
            name = unit.name if unit is not None else (form.name or form.code or "")
            return Held(f"{name} 已有待确认的申请（第 {earlier} 号），该地址不是名录中的联系邮箱", province)
    return None


def _filed_since(session: Session, sender: str | None, since: datetime) -> int:
    same = col(OffsetApplication.sender) == sender if sender else col(OffsetApplication.sender).is_(None)
    query = (
        select(func.count())
        .select_from(OffsetApplication)
        .join(InboundMessage, col(InboundMessage.id) == col(OffsetApplication.message_pk))
        .where(same, col(InboundMessage.received_at) > since, col(InboundMessage.handed_in_by).is_(None))
    )
    return int(session.exec(query).one())
