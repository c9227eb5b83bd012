"""A national officer's view of every province: each one's rate against the targets, furthest behind first."""

from __future__ import annotations

from bot.chat import keyboards
from bot.chat.base import Query, officers_only, refuse, say, time_left
from bot.chat.reply import Reply
from bot.chat.scope import NATIONAL
from bot.reports import national_report


@officers_only
def national(q: Query) -> Reply:
    assert q.identity is not None
    if q.identity.province != NATIONAL:
        return refuse(q, "national_only")
    report = national_report(q.engine, q.cycle, q.now)
    names = [p.province for p in report.provinces]
    return say(
        "chat_national",
        q,
        keyboards.province_picker("overview", names),
        report=report,
        left95=time_left(q.cycle.target_95_at, q.now),
        left100=time_left(q.cycle.compliance_deadline, q.now),
    )
