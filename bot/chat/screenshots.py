"""Step 5's stamped screenshot in chat: an emitter's file filed against its unit, and the officers' list of
units that cancelled without sending one."""

from __future__ import annotations

from sqlmodel import col, select

from bot.chat.base import Query, refuse, say
from bot.chat.reply import Reply
from bot.chat.scope import scoped
from bot.reports import unit_reports
from mail.emitter_requests import is_proof_file
from storage import screenshots
from storage.engine import session_scope
from storage.models import Unit
from storage.units import find_unit

SHOWN = 50


def received_file(q: Query, filename: str | None, content_type: str, data: bytes) -> Reply:
    """A file a bound emitter sends: a PDF or an image is its stamped screenshot of the cancellation."""
    if q.identity is None:
        return refuse(q, "unbound")
    if q.identity.role != "emitter" or not q.identity.unit_code:
        return say("chat_screenshot", q, filed=None, unit=None)
    if not data or not is_proof_file(filename, content_type):
        return say("chat_screenshot", q, filed=None, unit=None)
    with session_scope(q.engine) as session:
        unit = find_unit(session, q.identity.unit_code)
        if unit is None:
            return say("chat_screenshot", q, filed=None, unit=None)
        screenshots.file(
            session, unit.id or 0, q.cycle.name, str(q.peer), [(filename, content_type, data)], q.now
        )
        name = unit.name
    return say("chat_screenshot", q, filed=q.now, unit=name)


def line_for(q: Query, code: str) -> str:
    """/unit's line: 截图已收到 with the date, or not yet."""
    with session_scope(q.engine) as session:
        unit = find_unit(session, code)
        shot = screenshots.latest_of(session, unit.id or 0, q.cycle.name) if unit is not None else None
        at = shot.received_at.astimezone(q.now.tzinfo) if shot is not None else None
    return say("chat_screenshot_line", q, at=at).text


@scoped("screenshots")
def missing(q: Query, province: str) -> Reply:
    """Units that cancelled CCER (or offset them) without sending the stamped screenshot yet."""
    reports = [r for r in unit_reports(q.engine, q.cycle, q.now, province) if r.status.cancelled_t > 0]
    with session_scope(q.engine) as session:
        sent = screenshots.units_with(session, q.cycle.name)
        codes = set(session.exec(select(Unit.code).where(col(Unit.id).in_(sent)))) if sent else set()
    without = [(r.name, r.code, r.status.cancelled_t) for r in reports if r.code not in codes]
    return say("chat_screenshots", q, province=province, units=without[:SHOWN], more=len(without) > SHOWN)
