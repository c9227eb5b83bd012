"""A small, realistic state written straight into the storage tables: two provinces in the first cycle."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from compliance.creditcode import make_code
from storage.engine import session_scope
from storage.models import (
    ApplicationLine,
    CancellationRecord,
    InboundMessage,
    RosterEntry,
    Unit,
    WeeklySnapshot,
)

TZ = ZoneInfo("Asia/Shanghai")
SHANDONG, GUANGDONG = "山东省", "广东省"
ROSTER_AT = datetime(2021, 11, 1, 10, tzinfo=TZ)
WEEKLY_AT = datetime(2021, 12, 3, 17, tzinfo=TZ)
LATER_ROSTER_AT = datetime(2021, 12, 8, 10, tzinfo=TZ)
NOW = datetime(2021, 12, 9, 9, tzinfo=TZ)


def code(n: int) -> str:
    return make_code(f"91370000MA{n:07d}")


@dataclass(frozen=True)
class Cast:
    """Who is who in the story."""

    applied: str = code(1)  # 山东：confirmed 1,000 t, 600 t cancelled, 400 t still to cancel
    pending: str = code(2)  # 山东：application awaiting confirmation
    over_cap: str = code(3)  # 山东：asked for more than its 5 % cap
    complied: str = code(4)  # 山东：complied (later roster)
    silent: str = code(5)  # 山东：no application, no contact address
    canton: str = code(6)  # 广东：no application
    email: str = "tang.li@shandong-power.example"


CAST = Cast()
UNITS = (
    (CAST.applied, SHANDONG, "华能济宁电厂 <A&B>", 400_000, CAST.email),
    (CAST.pending, SHANDONG, "山东日照发电有限公司", 1_200_000, "ops@rizhao.example"),
    (CAST.over_cap, SHANDONG, "青岛热电集团", 100_000, "qd@heat.example"),
    (CAST.complied, SHANDONG, "烟台东源电力", 50_000, "yt@power.example"),
    (CAST.silent, SHANDONG, "潍坊静默热电", 80_000, None),
    (CAST.canton, GUANGDONG, "广州珠江电厂", 900_000, "gz@zhujiang.example"),
)


def message(
    session: Session,
    kind: str,
    province: str | None,
    at: datetime,
    state: str = "done",
    reason: str | None = None,
    subject: str = "",
) -> int:
    raw = f"{kind}|{province}|{at.isoformat()}|{subject}".encode()
    row = InboundMessage(
        content_hash=hashlib.sha256(raw).hexdigest(),
        raw=raw,
        source="test",
        subject=subject,
        sender="officer@province.example",
        received_at=at,
        kind=kind,
        province=province,
        state=state,
        outcome="quarantined" if state == "quarantined" else "applied",
        reason=reason,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def populate(engine: Engine) -> Cast:
    with session_scope(engine) as session:
        ids = _units(session)
        _rosters(session, ids)
        _weekly(session, ids)
        _cancellations(session, ids)
        message(
            session,
            "unknown",
            SHANDONG,
            datetime(2021, 12, 6, 8, tzinfo=TZ),
            "quarantined",
            "附件无法读取：文件已损坏",
            subject="山东省 CCER 抵销申请汇总表（损坏）",
        )
        message(
            session,
            "unknown",
            None,
            datetime(2021, 12, 7, 8, tzinfo=TZ),
            "quarantined",
            "发件人不受信任",
            subject="来自陌生人的名录",
        )
    return CAST


def _units(session: Session) -> dict[str, int]:
    ids = {}
    for unit_code, province, name, _, email in UNITS:
        unit = Unit(code=unit_code, province=province, name=name, contact_email=email, created_at=ROSTER_AT)
        session.add(unit)
        session.flush()
        assert unit.id is not None
        ids[unit_code] = unit.id
    return ids


def _rosters(session: Session, ids: dict[str, int]) -> None:
    for province in (SHANDONG, GUANGDONG):
        pk = message(session, "roster", province, ROSTER_AT)
        for unit_code, where, name, due, email in UNITS:
            if where == province:
                session.add(
                    RosterEntry(
                        message_pk=pk,
                        unit_id=ids[unit_code],
                        known_at=ROSTER_AT,
                        province=where,
                        name=name,
                        allowances_due_t=due,
                        complied=False,
                        contact_email=email,
                    )
                )
    later = message(session, "roster", SHANDONG, LATER_ROSTER_AT)
    session.add(
        RosterEntry(
            message_pk=later,
            unit_id=ids[CAST.complied],
            known_at=LATER_ROSTER_AT,
            province=SHANDONG,
            name="烟台东源电力",
            allowances_due_t=50_000,
            complied=True,
        )
    )


def _weekly(session: Session, ids: dict[str, int]) -> None:
    pk = message(session, "weekly_summary", SHANDONG, WEEKLY_AT)
    snapshot = WeeklySnapshot(message_pk=pk, province=SHANDONG, as_of=WEEKLY_AT.date(), known_at=WEEKLY_AT)
    session.add(snapshot)
    session.flush()
    assert snapshot.id is not None
    vintage = (date(2014, 1, 1), date(2016, 10, 31))
    lines = (
        (CAST.applied, "华能济宁电厂 <A&B>", 1_000, "confirmed"),
        (CAST.pending, "山东日照发电有限公司", 50_000, "pending"),
        (CAST.over_cap, "青岛热电集团", 9_000, "pending"),
        (CAST.complied, "烟台东源电力", 2_000, "confirmed"),
    )
    for row, (unit_code, name, requested, result) in enumerate(lines, start=3):
        session.add(
            ApplicationLine(
                snapshot_id=snapshot.id,
                unit_id=ids[unit_code],
                row=row,
                code=unit_code,
                name=name,
                name_key=name,
                project_no="CCER-001-0001",
                project_name="风电项目",
                vintage_start=vintage[0],
                vintage_end=vintage[1],
                requested_t=requested,
                result=result,
            )
        )


def _cancellations(session: Session, ids: dict[str, int]) -> None:
    pk = message(session, "cancellation_list", None, datetime(2021, 12, 6, 18, tzinfo=TZ))
    records = (
        (ids[CAST.applied], SHANDONG, "华能济宁电厂", 600, datetime(2021, 12, 6, 10, tzinfo=TZ)),
        (ids[CAST.complied], SHANDONG, "烟台东源电力", 2_000, datetime(2021, 12, 6, 11, tzinfo=TZ)),
        (None, SHANDONG, "某某新能源有限公司", 3_000, datetime(2021, 12, 6, 12, tzinfo=TZ)),
    )
    for row, (unit_id, province, holder, quantity, at) in enumerate(records, start=2):
        session.add(
            CancellationRecord(
                natural_key=f"test|{row}",
                message_pk=pk,
                known_at=at,
                province=province,
                unit_id=unit_id,
                row=row,
                holder_name=holder,
                name_key=holder,
                quantity_t=quantity,
                cancelled_at=at,
                project_no="CCER-001-0001",
            )
        )


def add_units(engine: Engine, province: str, count: int, first: int = 1000) -> list[str]:
    """`count` more units of the province on the first roster, with no application."""
    codes = [code(first + n) for n in range(count)]
    with session_scope(engine) as session:
        pk = message(session, "roster", province, ROSTER_AT, subject=f"extra {first}")
        for n, unit_code in enumerate(codes):
            unit = Unit(code=unit_code, province=province, name=f"测试单位{n:03d}", created_at=ROSTER_AT)
            session.add(unit)
            session.flush()
            assert unit.id is not None
            session.add(
                RosterEntry(
                    message_pk=pk,
                    unit_id=unit.id,
                    known_at=ROSTER_AT,
                    province=province,
                    name=unit.name,
                    allowances_due_t=100_000 + n,
                    complied=False,
                )
            )
    return codes
