"""An emitter's views: where its unit stands, and the cycle's calendar with what the unit has done."""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat import keyboards
from bot.chat.base import Keyboard, Query, bound_only, emitters_only, say, time_left
from bot.chat.reply import Reply
from bot.reports import UnitReport, report_of, unit_facts, unit_report
from compliance.deadline_marks import DeadlineMark, deadline_marks
from compliance.status import UnitFacts


@dataclass(frozen=True)
class CalendarEntry:
    mark: DeadlineMark
    left: tuple[int, int] | None


def report_or_none(q: Query, code: str) -> UnitReport | None:
    return unit_report(q.engine, q.cycle, code, q.now)


@emitters_only
def status(q: Query) -> Reply:
    assert q.identity is not None and q.identity.unit_code
    return unit_status(q, report_or_none(q, q.identity.unit_code), keyboards.emitter_menu(q.lang))


def unit_status(q: Query, report: UnitReport | None, keyboard: Keyboard, officer: bool = False) -> Reply:
    if report is None:
        return say("chat_status", q, keyboard, r=None, s=None, left=None, officer=officer)
    s = report.status
    return say(
        "chat_status", q, keyboard, r=report, s=s, left=time_left(s.next_deadline, q.now), officer=officer
    )


def calendar(q: Query, facts: UnitFacts | None) -> list[CalendarEntry]:
    """The cycle's deadlines, each marked met or missed when it has passed and concerns the unit."""
    return [CalendarEntry(m, time_left(m.deadline.at, q.now)) for m in deadline_marks(facts, q.cycle, q.now)]


@bound_only
def deadlines(q: Query) -> Reply:
    assert q.identity is not None
    code = q.identity.unit_code if q.identity.role == "emitter" else None
    found = unit_facts(q.engine, code, q.now) if code else None
    facts = found[0] if found else None
    report = report_of(found[0], found[1], q.cycle, q.now) if found else None
    keyboard = keyboards.emitter_menu(q.lang) if code else ()
    return say("chat_deadlines", q, keyboard, entries=calendar(q, facts), s=report.status if report else None)
