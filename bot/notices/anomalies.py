"""A unit's anomaly, or a unit to chase, is told to its province's officers once (the key has no day)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.notices.compose import Renderer, compose, existing_keys, key_for, write
from bot.notices.recipients import officers
from bot.reports import UnitReport, in_order, report_chunks
from compliance.cycle import Cycle
from storage.engine import session_scope
from templates import render


def enqueue_new_anomalies(engine: Engine, settings: Settings, cycle: Cycle, now: datetime) -> int:
    """Alert the province's officers to each anomaly of each unit, and to each unit to chase, once."""
    # only the units with something to tell are kept: every unit's report at once is ~1 KB a unit
    chunks = report_chunks(engine, cycle, now)
    flagged = sorted((r for chunk in chunks for r in chunk if r.status.officer_alerts), key=in_order)
    if not flagged:
        return 0
    with session_scope(engine) as session:
        wanted = [
            (key_for("officer", to, anomaly, cycle.name, report.code), report, anomaly, to.lang)
            for report in flagged
            for anomaly in report.status.officer_alerts
            for to in officers(session, settings, report.province, anomaly)
        ]
        present = existing_keys(session, [str(key) for key, *_ in wanted])
        items = [
            compose(key, lang, report.province, _anomaly_text(report, anomaly, cycle))
            for key, report, anomaly, lang in wanted
            if str(key) not in present
        ]
        return write(session, items, now)


def _anomaly_text(report: UnitReport, anomaly: str, cycle: Cycle) -> Renderer:
    def text(lang: str, html: bool) -> str:
        return render(
            "reminder_anomaly",
            lang,
            html_mode=html,
            html=html,
            province=report.province,
            code=report.code,
            name=report.name,
            anomaly=anomaly,
            s=report.status,
            deadline=cycle.cancellation_deadline,
            compliance_deadline=cycle.compliance_deadline,
        )

    return text
