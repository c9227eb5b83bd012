"""Applying parsed records to the database, inside the caller's one transaction.

Each function returns the row errors it found while applying (rows that parsed but may not be applied:
another province's unit, a row without a code for a unit the bot does not know…).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from compliance.divisions import province_of_code
from compliance.names import name_key
from mail.cycles import RosterFigures, message_cycle, roster_figures
from mail.operation_keys import rekey_matched
from mail.province_claims import Claim
from mail.record_keys import cancellation_key, rekeyed, same_day_parts
from mail.records import ApplicationRecord, ProjectLine, RosterRecord, RowError
from mail.records import CancellationLine as CancellationRecord
from storage.contacts import DEFAULT_CONFIRM_DAYS, Change, changes_of
from storage.contacts import record as record_changes
from storage.models import ApplicationLine, OffsetOperation, RosterEntry, RosterYear, Unit, WeeklySnapshot
from storage.models import CancellationRecord as CancellationRow
from storage.units import UnitFields, UnitIndex, upsert_units

CHUNK = 500  # rows per INSERT: SQLite caps the bound parameters of one statement


@dataclass
class Applied:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    new_units: list[int] = field(default_factory=list)
    superseded: bool = False
    note: str | None = None  # what the receipt says when nothing was applied on purpose
    claims: list[Claim] = field(default_factory=list)  # another province's unit named: both are told
    contact_changes: list[Change] = field(default_factory=list)  # the old addresses are told


@dataclass(frozen=True)
class Context:
    message_pk: int
    known_at: datetime
    province: str | None  # the one province the sender speaks for; None: any (NCSC)
    now: datetime
    earliest: datetime | None = None  # nothing done before this instant belongs to the cycle
    obligations: tuple[str, ...] = ()  # the obligation years the message's column headers name
    contact_wait: timedelta = timedelta(days=DEFAULT_CONFIRM_DAYS)  # a changed address waits this long


EMPTY_SUMMARY = "汇总表中没有任何申请行，未作任何更改（各单位保留原有申请）"
REPORT_SKEW = timedelta(days=1)  # a list may be dated by a clock a little ahead of the mail server's


def _foreign(record_province: str | None, ctx: Context) -> bool:
    return bool(ctx.province and record_province and record_province != ctx.province)


def apply_roster(session: Session, records: Sequence[RosterRecord], ctx: Context) -> Applied:
    index, applied = UnitIndex.load(session), Applied()
    accepted: list[tuple[RosterRecord, UnitFields, list[RosterFigures]]] = []
    claims = applied.claims
    for record in records:
        province = record.province or ctx.province
        code = record.code or _code_by_name(session, index, record.name)
        held = index.province(index.match(code, None, None) or 0) if code else None
        figures = roster_figures(record, ctx.known_at)
        division = province_of_code(code)
        if isinstance(figures, str):
            applied.errors.append(RowError(record.row, f"第{record.row}行：{figures}"))
        elif division is not None and province is not None and division != province:
            # the code names its province: a blank or wrong province cell cannot claim another's unit
            applied.errors.append(
                RowError(record.row, _division_error(record.row, record.name, code, division, province))
            )
        elif _foreign(record.province, ctx) or province is None or (_foreign(held, ctx) and division is None):
            applied.errors.append(
                RowError(record.row, f"第{record.row}行：{record.name} 不属于{ctx.province}")
            )
            if held and province and code and held != province:  # no code can decide: both are told
                claims.append(Claim(code, record.name, held, province, None))
        elif code is None:
            applied.errors.append(
                RowError(record.row, f"第{record.row}行：{record.name} 缺少统一社会信用代码")
            )
        else:
            fields = UnitFields(code, province, record.name, record.account_no, record.contact_email)
            accepted.append((record, fields, figures))
            if held and held != province:  # taken first by another province; the code says it is this one's
                claims.append(Claim(code, record.name, held, province, province))
    known = set(index.by_kind["code"])
    changed = changes_of(session, [(f.code, f.contact_email) for _, f, _ in accepted])
    ids = upsert_units(session, index, [fields for _, fields, _ in accepted], ctx.now)
    record_changes(session, changed, ctx.message_pk, ctx.known_at, ctx.contact_wait)
    applied.contact_changes = [replace(c, usable_from=ctx.known_at + ctx.contact_wait) for c in changed]
    applied.new_units = sorted({ids[f.code] for _, f, _ in accepted if f.code not in known})
    entries = [
        (_roster_row(record, fields, ids[fields.code], ctx, cycle), cycle)
        for record, fields, figures in accepted
        for cycle in figures
    ]
    _insert_roster(session, entries)
    applied.rows = len(accepted)
    if index.added:  # a new unit, or a new name or account of a known one
        rematch(session, index, ctx.known_at)
    return applied


def _division_error(row: int, name: str, code: str | None, division: str, claimed: str) -> str:
    return f"第{row}行：{name} 的统一社会信用代码 {code} 由{division}登记，不属于{claimed}"


def _roster_row(
    record: RosterRecord, fields: UnitFields, unit_id: int, ctx: Context, figures: RosterFigures
) -> dict[str, object]:
    return {
        "message_pk": ctx.message_pk,
        "unit_id": unit_id,
        "known_at": ctx.known_at,
        "province": fields.province,
        "name": record.name,
        "account_no": record.account_no,
        "allowances_due_t": figures.allowances_due_t,
        "surrendered_t": figures.surrendered_t,
        "complied": figures.complied,
        "contact_email": record.contact_email,
        "cycle": figures.cycle,
        "sector": record.sector,
    }


def _insert_roster(session: Session, entries: list[tuple[dict[str, object], RosterFigures]]) -> None:
    """The entries, then each entry's per-year figures under the id it was given."""
    if not entries:
        return
    statement = insert(RosterEntry).returning(col(RosterEntry.id), sort_by_parameter_order=True)
    ids = session.execute(statement, [entry for entry, _ in entries]).scalars().all()
    years = [
        {
            "entry_id": entry_id,
            "obligation": year.obligation,
            "allowances_due_t": year.allowances_due_t,
            "surrendered_t": year.surrendered_t,
            "complied": year.complied,
        }
        for entry_id, (_, figures) in zip(ids, entries, strict=True)
        for year in figures.years
    ]
    _insert(session, RosterYear, years)


def _code_by_name(session: Session, index: UnitIndex, name: str) -> str | None:
    unit_id = index.match(None, name, None)
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return unit.code if unit else None


def rematch(session: Session, index: UnitIndex, known_at: datetime) -> None:
    """Records kept unmatched find their unit once a roster brings it (or a new name of it).

    `matched_at` keeps when: replaying an earlier instant shows them unmatched, as they were then.
    """
    for line in session.exec(select(ApplicationLine).where(col(ApplicationLine.unit_id).is_(None))):
        line.unit_id = index.match(line.code, line.name, None)
        if line.unit_id is not None:
            line.matched_at = known_at
    for row in list(session.exec(select(CancellationRow).where(col(CancellationRow.unit_id).is_(None)))):
        unit_id = index.match(row.code, row.holder_name, row.account_no)
        if unit_id is None:
            continue
        unit = session.get(Unit, unit_id)
        if unit is not None and (row.province is None or row.province == unit.province):
            row.unit_id, row.province, row.matched_at = unit_id, unit.province, known_at
            key = rekeyed(row.natural_key, unit_id)
            if key == row.natural_key:
                continue
            taken = session.exec(select(CancellationRow.id).where(CancellationRow.natural_key == key)).first()
            if taken is None:
                row.natural_key = key
            else:  # the same record came again, by the unit's code: that one counts, once
                session.delete(row)
    for operation in list(
        session.exec(select(OffsetOperation).where(col(OffsetOperation.unit_id).is_(None)))
    ):
        unit_id = index.match(operation.code, operation.name, None)
        unit = session.get(Unit, unit_id) if unit_id is not None else None
        if unit is not None and operation.province in (None, unit.province):
            operation.unit_id, operation.province = unit_id, unit.province
            rekey_matched(session, operation)


def apply_weekly(
    session: Session,
    records: Sequence[ApplicationRecord],
    ctx: Context,
    as_of: date,
    refused: Sequence[tuple[str | None, str]] = (),
    refused_rows: int = 0,
) -> Applied:
    """A full snapshot of the province's applications; units whose rows were refused keep what they had.

    A summary of which every row was refused changes nothing: it would otherwise wipe every application.
    """
    applied = Applied()
    assert ctx.province is not None
    if not records and (refused or refused_rows):
        return applied
    # A header and nothing under it is a mistake, never "every application withdrawn": its date is kept
    # (an older summary arriving later is still superseded) and every unit keeps what it had.
    empty = not records
    applied.note = EMPTY_SUMMARY if empty else None
    cycle = message_cycle(ctx.obligations, ctx.known_at).name
    previous = _snapshot_before(session, ctx.province, as_of, cycle)
    newest = _newest_as_of(session, ctx.province, cycle)
    snapshot = WeeklySnapshot(
        message_pk=ctx.message_pk,
        province=ctx.province,
        as_of=as_of,
        known_at=ctx.known_at,
        superseded=newest is not None and newest > as_of,
        cycle=cycle,
    )
    session.add(snapshot)
    session.flush()
    applied.superseded = snapshot.superseded
    index = UnitIndex.load(session)
    lines: list[dict[str, object]] = []
    for record in records:
        if _foreign(record.province, ctx):
            applied.errors.append(
                RowError(record.row, f"第{record.row}行：{record.name} 不属于{ctx.province}")
            )
            continue
        unit_id = index.match(record.code, record.name, None)
        division = province_of_code(record.code)
        if _foreign(division, ctx):  # the code was issued in another province
            applied.errors.append(
                RowError(
                    record.row,
                    _division_error(record.row, record.name, record.code, division or "", ctx.province or ""),
                )
            )
            continue
        if _foreign(index.province(unit_id) if unit_id else None, ctx):  # another province's unit
            applied.errors.append(
                RowError(record.row, f"第{record.row}行：{record.name} 不属于{ctx.province}")
            )
            continue
        lines += [_line_row(snapshot.id or 0, unit_id, record, line) for line in record.lines]
        applied.rows += 1
    kept = {index.match(code, name, None) for code, name in refused} - {None}
    lines += _carried_over(session, previous, None if empty else kept, snapshot.id or 0)
    _insert(session, ApplicationLine, lines)
    return applied


def _newest_as_of(session: Session, province: str, cycle: str) -> date | None:
    query = select(col(WeeklySnapshot.as_of)).where(
        WeeklySnapshot.province == province, WeeklySnapshot.cycle == cycle
    )
    return session.exec(query.order_by(col(WeeklySnapshot.as_of).desc())).first()


def _snapshot_before(session: Session, province: str, as_of: date, cycle: str) -> WeeklySnapshot | None:
    """The snapshot this one follows: the newest applied one of its cycle not after its date."""
    query = select(WeeklySnapshot).where(
        WeeklySnapshot.province == province, WeeklySnapshot.as_of <= as_of, WeeklySnapshot.cycle == cycle
    )
    return session.exec(
        query.order_by(col(WeeklySnapshot.as_of).desc(), col(WeeklySnapshot.id).desc())
    ).first()


def _carried_over(
    session: Session, previous: WeeklySnapshot | None, unit_ids: set[int | None] | None, snapshot_id: int
) -> list[dict[str, object]]:
    """The previous snapshot's lines of these units (None: of every unit, matched or not)."""
    if previous is None or unit_ids == set():
        return []
    query = select(ApplicationLine).where(ApplicationLine.snapshot_id == previous.id)
    if unit_ids is not None:
        query = query.where(col(ApplicationLine.unit_id).in_(list(unit_ids)))
    return [
        {**line.model_dump(exclude={"id", "snapshot_id"}), "snapshot_id": snapshot_id}
        for line in session.exec(query)
    ]


def _line_row(
    snapshot_id: int, unit_id: int | None, record: ApplicationRecord, line: ProjectLine
) -> dict[str, object]:
    return {
        "snapshot_id": snapshot_id,
        "unit_id": unit_id,
        "row": line.row,
        "code": record.code,
        "name": record.name,
        "name_key": name_key(record.name),
        "project_no": line.project_no,
        "project_name": line.project_name,
        "vintage_start": line.vintage_start,
        "vintage_end": line.vintage_end,
        "requested_t": line.requested_t,
        "confirmed_t": line.confirmed_t,
        "result": line.result,
        "confirmed_on": line.confirmed_on,
    }


def _insert(session: Session, table: type[SQLModel], rows: list[dict[str, object]]) -> None:
    if rows:  # executemany: one compiled statement whatever the number of rows
        session.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]


def natural_key(record: CancellationRecord, unit_id: int | None = None) -> str:
    """The same serial range is the same record; without serials: unit, project, day and quantity."""
    return cancellation_key(record, unit_id)


def apply_cancellations(
    session: Session, records: Sequence[CancellationRecord], ctx: Context, list_province: str | None
) -> Applied:
    index, applied = UnitIndex.load(session), Applied()
    cycle = message_cycle(ctx.obligations, ctx.known_at).name
    rows = []
    for record in records:
        unit_id = index.match(record.code, record.holder_name, record.account_no)
        division = province_of_code(record.code)
        unit_province = (index.province(unit_id) if unit_id is not None else None) or division
        if unit_province is not None and ctx.province and unit_province != ctx.province:
            applied.errors.append(
                RowError(record.row, f"第{record.row}行：{record.holder_name} 不属于{ctx.province}")
            )
            continue
        if (wrong := _outside_the_cycle(record, ctx)) is not None:
            applied.errors.append(wrong)
            continue
        province = unit_province or ctx.province or list_province
        rows.append({**_cancellation_row(record, ctx, unit_id, province), "cycle": cycle})
    applied.rows = _insert_new(session, rows)
    return applied


def _outside_the_cycle(record: CancellationRecord, ctx: Context) -> RowError | None:
    """A cancellation dated before the cycle began, or after the mail that reports it, is a typing error."""
    when = f"{record.cancelled_at:%Y-%m-%d %H:%M}"
    if ctx.earliest is not None and record.cancelled_at < ctx.earliest:
        return RowError(
            record.row, f"第{record.row}行：注销日期 {when} 早于本履约周期开始（{ctx.earliest:%Y-%m-%d}）"
        )
    if record.cancelled_at > ctx.known_at + REPORT_SKEW:
        return RowError(record.row, f"第{record.row}行：注销日期 {when} 晚于报送该记录的邮件日期")
    return None


def _cancellation_row(
    record: CancellationRecord, ctx: Context, unit_id: int | None, province: str | None
) -> dict[str, object]:
    return {
        "natural_key": natural_key(record, unit_id),
        "message_pk": ctx.message_pk,
        "known_at": ctx.known_at,
        "province": province,
        "unit_id": unit_id,
        "row": record.row,
        "holder_name": record.holder_name,
        "name_key": name_key(record.holder_name),
        "code": record.code,
        "account_no": record.account_no,
        "project_no": record.project_no,
        "project_name": record.project_name,
        "project_type": record.project_type,
        "serial_from": record.serial_from,
        "serial_to": record.serial_to,
        "quantity_t": record.quantity_t,
        "cancelled_at": record.cancelled_at,
        "purpose": record.purpose,
    }


def _without_same_day_repeats(session: Session, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """A record given with its day only is the same as one of that day with a time, and the reverse;
    two different times of one day are two records."""
    kept: list[dict[str, object]] = []
    times: dict[str, set[str]] = {}
    for row in rows:
        parts = same_day_parts(str(row["natural_key"]))
        if parts is None:
            kept.append(row)
            continue
        loose, clock = parts
        if loose not in times:
            query = select(CancellationRow.natural_key).where(
                col(CancellationRow.natural_key).startswith(loose + "|", autoescape=True)
            )
            times[loose] = {key.rpartition("|")[2] for key in session.exec(query)}
        seen = times[loose]
        if clock in seen or (seen and (clock == "" or "" in seen)):
            continue
        seen.add(clock)
        kept.append(row)
    return kept


def _insert_new(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the records whose natural key is new, in one statement; repeats are counted once."""
    if not rows:  # an empty executemany would insert one row of defaults
        return 0
    unique = list({str(r["natural_key"]): r for r in reversed(rows)}.values())[::-1]  # first of each key
    unique = _without_same_day_repeats(session, unique)
    if not unique:
        return 0
    dialect = session.get_bind().dialect.name
    insert_new = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert_new(CancellationRow)
        .on_conflict_do_nothing(index_elements=["natural_key"])
        .returning(col(CancellationRow.id))
    )
    return len(session.execute(statement, unique).all())
