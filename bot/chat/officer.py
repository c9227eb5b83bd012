"""An officer's views of its province: the overview, units still to act by step, one unit."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, func, select

from bot.chat import keyboards, screenshots
from bot.chat.base import Keyboard, Query, as_page, officers_only, page_of, say, time_left
from bot.chat.emitter import report_or_none as unit_or_none
from bot.chat.emitter import unit_status
from bot.chat.reply import Reply
from bot.chat.scope import NATIONAL, scoped
from bot.reports import NotFound, ProvinceReport, UnitReport, province_report
from compliance.creditcode import is_valid_code, normalize_code
from compliance.names import name_key
from storage.engine import session_scope
from storage.history import Event, unit_history
from storage.models import InboundMessage
from storage.units import find_unit, search_units, unit_named
from templates import LANGS, label

STEPS = (
    "submit_application",
    "await_confirmation",
    "cancel_ccer",
    "submit_compliance",
    "surrender_allowances",
)
PAGE = 20
UNIT_BUTTONS = 10
HISTORY = 25  # events shown, the latest: one message stays within Telegram's limit


def province_or_none(q: Query, province: str) -> ProvinceReport | None:
    try:
        return province_report(q.engine, q.cycle, province, q.now)
    except NotFound:
        return None


def no_data(q: Query, province: str) -> Reply:
    return say("chat_nodata", q, province=province)


def menu(q: Query, province: str) -> Keyboard:
    national = q.identity is not None and q.identity.province == NATIONAL
    return keyboards.officer_menu(q.lang, province, national)


def outstanding_by_step(units: Sequence[UnitReport]) -> list[tuple[str, int]]:
    counted: Counter[str] = Counter(u.status.next_step for u in units if not u.status.complied)
    return [(step, counted[step]) for step in STEPS if counted[step]]


def quarantined_by(at: datetime) -> ColumnElement[bool]:
    """Mail quarantined that had come by `at`: by its Date or, when that lies, by when it was received."""
    came = or_(col(InboundMessage.sent_at) <= at, col(InboundMessage.received_at) <= at)
    return and_(col(InboundMessage.state) == "quarantined", came)


def quarantined_count(q: Query, province: str) -> int:
    query = select(func.count()).select_from(InboundMessage).where(quarantined_by(q.now))
    if province != NATIONAL:
        query = query.where(col(InboundMessage.province) == province)
    with session_scope(q.engine) as session:
        return int(session.exec(query).one())


@scoped("overview")
def overview(q: Query, province: str) -> Reply:
    report = province_or_none(q, province)
    if report is None:
        return no_data(q, province)
    units = report.units
    return say(
        "chat_overview",
        q,
        menu(q, province),
        p=report.progress,
        left95=time_left(q.cycle.target_95_at, q.now),
        left100=time_left(q.cycle.compliance_deadline, q.now),
        counts=outstanding_by_step(units),
        anomalous_units=sum(1 for u in units if u.status.anomalies),
        anomalies_total=sum(len(u.status.anomalies) for u in units),
        unmatched=len(report.unmatched),
        quarantined=quarantined_count(q, province),
        sectors=report.by_sector() if any(u.sector for u in units) else [],
    )


@scoped("pending")
def pending(q: Query, province: str) -> Reply:
    report = province_or_none(q, province)
    if report is None:
        return no_data(q, province)
    counts = outstanding_by_step(report.units)
    step, page_text = step_asked(q.args)
    total = sum(n for _, n in counts)
    if step is None:
        keyboard = keyboards.step_buttons(q.lang, province, counts) + menu(q, province)
        return say("chat_pending", q, keyboard, province=province, step=None, counts=counts, total=total)
    at_step = [u for u in report.units if not u.status.complied and u.status.next_step == step]
    shown, page, pages = page_of(at_step, as_page(page_text), PAGE)
    keyboard = keyboards.pager(q.lang, ["pending", province, step], page, pages) + menu(q, province)
    return say(
        "chat_pending",
        q,
        keyboard,
        province=province,
        step=step,
        units=shown,
        total=len(at_step),
        page=page,
        pages=pages,
        offset=(page - 1) * PAGE,
    )


def step_asked(args: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The step (by its key, or by any label the chat shows for it, in either language) and the page.

    '/pending cancel_ccer 2', '/pending 待注销 CCER', '/pending 待注销 CCER (3)' and '/pending to cancel CCER'
    all name cancel_ccer; a trailing number is the page.
    """
    words, page = list(args), None
    if len(words) > 1 and words[-1].isdigit():
        page = words.pop()
    typed = _label_key(" ".join(words))
    for step in STEPS:
        names = {step} | {label(group, step, lang) for group in ("chat_step_short", "step") for lang in LANGS}
        if typed and typed in {_label_key(name) for name in names}:
            return step, page
    return None, page


def _label_key(text: str) -> str:
    """A label as typed or shown: without white space, case, or a button's count ("待注销 CCER (3)")."""
    return re.sub(r"[(（]\d+[)）]$", "", "".join(text.split()).lower())


@officers_only
def unit(q: Query) -> Reply:
    assert q.identity is not None and q.identity.province
    own = q.identity.province
    fragment = " ".join(q.args).strip()
    if not fragment:
        return say("chat_unit_list", q, fragment="", units=[], usage=True)
    code = normalize_code(fragment)
    if is_valid_code(code):
        found = [(code, "")]
    else:
        with session_scope(q.engine) as session:
            named = unit_named(session, fragment, own)  # a unit's full name (any it went by) is that unit
            units = [named] if named else search_units(session, fragment, own, limit=PAGE + 1)
            exact = [u for u in units if name_key(u.name) == name_key(fragment)]
            found = [(u.code, u.name) for u in (exact if len(exact) == 1 else units)]
    if len(found) == 1:
        return one_unit(q, found[0][0], own)
    keyboard = keyboards.unit_buttons(found[:UNIT_BUTTONS])
    return say(
        "chat_unit_list",
        q,
        keyboard,
        fragment=fragment,
        units=found[:PAGE],
        more=len(found) > PAGE,
        usage=False,
    )


def one_unit(q: Query, code: str, own: str) -> Reply:
    report = unit_or_none(q, code)
    if report is None or (own != NATIONAL and report.province != own):
        # Another province's unit is answered exactly like a unit that does not exist.
        return say("chat_unit_list", q, fragment=code, units=[], more=False, usage=False)
    keyboard = keyboards.rows([keyboards.button("overview", q.lang, "overview", report.province)])
    status = unit_status(q, report, keyboard, officer=True)
    events = history(q, code, report.province)
    told = say("chat_unit_history", q, events=events[-HISTORY:], unlisted=max(len(events) - HISTORY, 0))
    shot = screenshots.line_for(q, code)
    return Reply(f"{status.text}\n{shot}\n\n{told.text}", status.keyboard)


def history(q: Query, code: str, province: str) -> list[Event]:
    with session_scope(q.engine) as session:
        found = find_unit(session, code)
        if found is None or found.id is None:
            return []
        events = unit_history(session, found.id, province, q.now)
    # Stored instants come back in UTC: shown, and dated, on the cycle's clock.
    return [
        replace(e, when=e.when.astimezone(q.cycle.tz)) if isinstance(e.when, datetime) else e for e in events
    ]
