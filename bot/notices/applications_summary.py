"""The province's Friday: its weekly summary composed from the officers' decisions, shown to them with a
button to send it, and on approval mailed from the province's address to NCSC with the officers in copy.

The summary is a full snapshot (FORMATS §2): each unit's latest application, as decided. Read back by
intake from the province's trusted address, it is a summary like any other and replaces the previous one,
so nothing is counted twice.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.notices.compose import compose, item, key_for, write
from bot.notices.keys import OutboxKey
from bot.notices.recipients import officers
from compliance.applications import summary_day
from compliance.cycle import Cycle
from compliance.names import name_key
from storage import applications
from storage.engine import session_scope
from storage.models import ApplicationLine, OffsetApplication, OffsetApplicationProject, SummaryDraft
from storage.state import known_units
from templates import render

COLUMNS = (
    "序号", "省份", "重点排放单位名称", "统一社会信用代码", "应清缴配额量（吨）", "申请抵销量（吨）",
    "CCER项目编号", "CCER项目名称", "减排量产生时间", "确认结果", "确认抵销量（吨）", "确认日期", "备注",
)  # fmt: skip
RESULT = {"confirmed": "已确认", "returned": "退回", "rejected": "退回", "pending": "待确认"}


def subject(province: str, as_of: date) -> str:
    return f"{province}CCER抵销配额清缴申请汇总表（截至{as_of.year}年{as_of.month}月{as_of.day}日）"


def sheet(session: Session, province: str, cycle: Cycle, as_of: date, until: datetime) -> tuple[bytes, int]:
    """The summary's xlsx and how many units it lists.

    A summary is a full snapshot: a unit with no application in ccerbot but listed in the province's last
    summary (one sent by hand, say) is listed again with that summary's lines, or it would be dropped."""
    import openpyxl  # only on a province's Friday: the service need not hold it (and numpy) all week

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append([f"{province}CCER抵销配额清缴申请汇总表"])
    ws.append([f"截至日期：{as_of.isoformat()}"])
    ws.append(list(COLUMNS))
    latest = applications.latest_by_unit(session, province, cycle.name, until)
    earlier = _units_reported_before(session, province, cycle, until, latest)
    codes = [a.code for a, _ in latest if a.code] + [lines[0].code for lines in earlier if lines[0].code]
    due = {
        k.unit.code: k.allowances_due_t for k in known_units(session, until, codes=codes, cycle=cycle.name)
    }
    for number, (application, projects) in enumerate(latest, start=1):
        result = RESULT[application.state]
        decided = (
            application.decided_at.astimezone(cycle.tz).date().isoformat() if application.decided_at else None
        )
        lines = projects or []
        for index, project in enumerate(lines or [None]):
            amount = (
                project.requested_t
                if project and project.requested_t is not None
                else application.requested_t
            )
            vintage = _vintage(project.vintage_start, project.vintage_end) if project else None
            first = index == 0
            ws.append([
                number if first else None,
                province if first else None,
                application.name if first else None,
                application.code if first else None,
                (due.get(application.code or "") or application.allowances_due_t) if first else None,
                amount,
                project.project_no if project else None,
                project.project_name if project else None,
                vintage,
                result,
                amount if application.state == "confirmed" else None,
                decided,
                application.reason if application.state == "returned" and first else None,
            ])  # fmt: skip
    for number, reported in enumerate(earlier, start=len(latest) + 1):
        for index, line in enumerate(reported):
            first = index == 0
            ws.append([
                number if first else None,
                province if first else None,
                line.name if first else None,
                line.code if first else None,
                due.get(line.code or "") if first else None,
                line.requested_t,
                line.project_no,
                line.project_name,
                _vintage(line.vintage_start, line.vintage_end),
                RESULT[line.result],
                line.confirmed_t,
                line.confirmed_on.isoformat() if line.confirmed_on else None,
                None,
            ])  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), len(latest) + len(earlier)


def _units_reported_before(
    session: Session,
    province: str,
    cycle: Cycle,
    until: datetime,
    latest: list[tuple[OffsetApplication, list[OffsetApplicationProject]]],
) -> list[list[ApplicationLine]]:
    """The last summary's lines of the units no application in ccerbot speaks for, unit by unit."""
    ids = {a.unit_id for a, _ in latest if a.unit_id is not None}
    codes = {a.code for a, _ in latest if a.code}
    names = {name_key(a.name) for a, _ in latest}
    units: dict[object, list[ApplicationLine]] = {}
    for line in applications.last_summary_lines(session, province, cycle.name, until):
        if line.unit_id in ids or (line.code and line.code in codes) or line.name_key in names:
            continue
        units.setdefault(line.unit_id or line.code or line.name_key, []).append(line)
    return list(units.values())


def _vintage(start: date | None, end: date | None) -> str | None:
    if start is None and end is None:
        return None
    return f"{start.isoformat() if start else ''}至{end.isoformat() if end else ''}"


def _provinces(session: Session, cycle: Cycle) -> list[str]:
    query = select(OffsetApplication.province).where(
        OffsetApplication.cycle == cycle.name, col(OffsetApplication.province).is_not(None)
    )
    return sorted({p for p in session.exec(query) if p})


def friday(engine: Engine, settings: Settings, cycle: Cycle, now: datetime) -> int:
    """On the summary day: compose each province's summary in the morning and show it to its officers;
    in the afternoon, remind them of one still unsent. Writing twice changes nothing."""
    day = now.astimezone(cycle.tz).date()
    moments = summary_day(cycle, day)
    if moments is None or now < moments.compose_at:
        return 0
    written = 0
    with session_scope(engine) as session:
        for province in _provinces(session, cycle):
            draft = applications.draft_on(session, province, day)
            if draft is None:
                data, units = sheet(session, province, cycle, day, now)
                draft = SummaryDraft(
                    province=province, cycle=cycle.name, as_of=day, composed_at=now, units=units, xlsx=data
                )
                session.add(draft)
                session.flush()
            written += _tell(session, settings, draft, "summary_ready", now)
            if draft.state == "shown" and now >= moments.chase_at:
                written += _tell(session, settings, draft, "summary_unsent", now)
    return written


def _tell(session: Session, settings: Settings, draft: SummaryDraft, kind: str, now: datetime) -> int:
    def text(lang: str, html: bool) -> str:
        return render(
            "officer_summary",
            lang,
            html_mode=html,
            draft=draft,
            kind=kind,
            subject=subject(draft.province, draft.as_of),
        )

    notices = [
        compose(
            key_for("officer", to, kind, draft.as_of.isoformat(), draft.province),
            to.lang,
            draft.province,
            text,
        )
        for to in officers(session, settings, draft.province, kind)
    ]
    return write(session, notices, now)


def send(session: Session, settings: Settings, draft: SummaryDraft, now: datetime) -> str:
    """The approved summary into the outbox: from the province's address to NCSC, officers in copy."""
    province = draft.province
    trusted = settings.senders.provinces.get(province, [])
    sender = settings.applications.summary_from.get(province) or (trusted[0] if trusted else None)
    copies = list(dict.fromkeys([*trusted, *settings.applications.summary_cc]))
    to = settings.applications.ncsc_address.lower()
    key = OutboxKey("province", "email", to, "weekly_summary", (draft.as_of.isoformat(), province))
    body = render("summary_mail", "zh", draft=draft)
    mail = item(key, body + "\n", subject(province, draft.as_of))
    mail = replace(
        mail,
        sender=sender,
        cc=", ".join(copies) or None,
        attachment_name=f"{province}CCER抵销配额清缴申请汇总表-{draft.as_of:%Y%m%d}.xlsx",
        attachment=draft.xlsx,
    )
    write(session, [mail], now)
    return str(key)
