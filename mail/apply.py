"""Applying parsed records to the database, inside the caller's one transaction.

Each function returns the row errors it found while applying (rows that parsed but may not be applied:
another province's unit, a row without a code for a unit the bot does not know…).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from compliance.divisions import province_of_code
from compliance.names import name_key
from mail.cycles import RosterFigures, message_cycle, roster_figures
from mail.operation_keys import rekey_matched
from mail.province_claims import Claim
from mail.record_keys import cancellation_key, rekeyed, same_day_parts
from mail.records import ApplicationRecord, CancellationLine, ProjectLine, RosterRecord, RowError
from storage.bulk import CHUNK, among, insert_ids, insert_rows
from storage.contacts import DEFAULT_CONFIRM_DAYS, Change, changes_of
from storage.contacts import record as record_changes
from storage.models import ApplicationLine, OffsetOperation, RosterEntry, RosterYear, WeeklySnapshot
from storage.models import CancellationRecord as CancellationRow
from storage.units import UNIT, UnitFields, UnitIndex, units_by_code, upsert_units

CANCELLATION: Table = CancellationRow.__table__  # type: ignore[attr-defined]
SNAPSHOT: Table = WeeklySnapshot.__table__  # type: ignore[attr-defined]
LINE: Table = ApplicationLine.__table__  # type: ignore[attr-defined]


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
    codes = index.by_kind["code"]
    known = {fields.code for _, fields, _ in accepted if fields.code in codes}
    current = units_by_code(session, (f.code for _, f, _ in accepted if f.code in known))
    changed = changes_of(current, [(f.code, f.contact_email) for _, f, _ in accepted])
    ids = upsert_units(session, index, [fields for _, fields, _ in accepted], ctx.now, current)
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
    table = RosterEntry.__table__  # type: ignore[attr-defined]
    ids = insert_ids(session.connection(), table, [entry for entry, _ in entries])
    years: list[dict[str, object]] = [
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
    if unit_id is None:
        return None
    return session.connection().execute(select(UNIT.c.code).where(UNIT.c.id == unit_id)).scalar()


def rematch(session: Session, index: UnitIndex, known_at: datetime) -> None:
    """Records kept unmatched find their unit once a roster brings it (or a new name of it).

    `matched_at` keeps when: replaying an earlier instant shows them unmatched, as they were then. The
    provinces are the index's: it holds what this message's roster made of each unit.
    """
    _rematch_lines(session, index, known_at)
    _rematch_cancellations(session, index, known_at)
    for operation in list(
        session.exec(select(OffsetOperation).where(col(OffsetOperation.unit_id).is_(None)))
    ):
        unit_id = index.match(operation.code, operation.name, None)
        province = index.province(unit_id) if unit_id is not None else None
        if province is not None and operation.province in (None, province):
            operation.unit_id, operation.province = unit_id, province
            rekey_matched(session, operation)


def _rematch_lines(session: Session, index: UnitIndex, known_at: datetime) -> None:
    table = ApplicationLine.__table__  # type: ignore[attr-defined]
    unmatched = select(table.c.id, table.c.code, table.c.name).where(table.c.unit_id.is_(None))
    found = [
        {"line_id": line_id, "new_unit_id": unit_id}
        for line_id, code, name in session.connection().execute(unmatched)
        if (unit_id := index.match(code, name, None)) is not None
    ]
    if found:
        statement = update(table).where(table.c.id == bindparam("line_id"))
        statement = statement.values(unit_id=bindparam("new_unit_id"), matched_at=known_at)
        session.connection().execute(statement, found)


def _rematch_cancellations(session: Session, index: UnitIndex, known_at: datetime) -> None:
    """Matched records are keyed by their unit; when the same record came again meanwhile, keyed by the
    unit's code, that one counts, once, and this one goes."""
    table = CANCELLATION
    columns = (table.c.id, table.c.natural_key, table.c.code, table.c.holder_name, table.c.account_no)
    unmatched = core_select(*columns, table.c.province).where(table.c.unit_id.is_(None)).order_by(table.c.id)
    matched: list[tuple[int, str, int, str]] = []  # (id, key, unit, province)
    for row_id, key, code, holder, account, province in session.connection().execute(unmatched):
        unit_id = index.match(code, holder, account)
        unit_province = index.province(unit_id) if unit_id is not None else None
        if unit_id is not None and unit_province is not None and province in (None, unit_province):
            matched.append((row_id, key, unit_id, unit_province))
    if not matched:
        return
    new_keys = [rekeyed(key, unit_id) for _, key, unit_id, _ in matched]
    held = _keys_held(session, new_keys)  # key → id, as each row is rekeyed in turn
    updates, gone = [], []
    for (row_id, key, unit_id, province), new_key in zip(matched, new_keys, strict=True):
        if new_key != key and held.get(new_key) is not None:  # the same record, by the unit's code
            gone.append(row_id)
            held.pop(key, None)
            continue
        if new_key != key:
            held.pop(key, None)
            held[new_key] = row_id
        updates.append(
            {"row_id": row_id, "new_unit_id": unit_id, "new_province": province, "new_key": new_key}
        )
    if gone:
        session.connection().execute(delete(table).where(table.c.id.in_(gone)))
    if updates:
        statement = update(table).where(table.c.id == bindparam("row_id"))
        values = {"unit_id": "new_unit_id", "province": "new_province", "natural_key": "new_key"}
        statement = statement.values({**{c: bindparam(p) for c, p in values.items()}, "matched_at": known_at})
        session.connection().execute(statement, updates)


def _keys_held(session: Session, keys: list[str]) -> dict[str, int]:
    table, held = CANCELLATION, dict[str, int]()
    connection = session.connection()
    for condition in among(connection, table.c.natural_key, list(dict.fromkeys(keys))):
        query = select(table.c.natural_key, table.c.id).where(condition)
        held.update({key: row_id for key, row_id in connection.execute(query)})
    return held


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
    earlier = _snapshots(session, ctx.province, cycle)
    previous = next((snapshot_id for snapshot_id, day in earlier if day <= as_of), None)
    superseded = bool(earlier) and earlier[0][1] > as_of
    values = {
        "message_pk": ctx.message_pk,
        "province": ctx.province,
        "as_of": as_of,
        "known_at": ctx.known_at,
        "superseded": superseded,
        "cycle": cycle,
    }
    statement = insert(SNAPSHOT).returning(SNAPSHOT.c.id)
    snapshot_id: int = session.connection().execute(statement, values).scalar_one()
    applied.superseded = superseded
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
        lines += [_line_row(snapshot_id, unit_id, record, line) for line in record.lines]
        applied.rows += 1
    kept = {index.match(code, name, None) for code, name in refused} - {None}
    lines += _carried_over(session, previous, None if empty else kept, snapshot_id)
    _insert(session, ApplicationLine, lines)
    return applied


_SNAPSHOTS = (
    core_select(SNAPSHOT.c.id, SNAPSHOT.c.as_of)
    .where(SNAPSHOT.c.province == bindparam("province"), SNAPSHOT.c.cycle == bindparam("cycle"))
    .order_by(SNAPSHOT.c.as_of.desc(), SNAPSHOT.c.id.desc())
)


def _snapshots(session: Session, province: str, cycle: str) -> list[tuple[int, date]]:
    """The province's snapshots of the cycle, newest first: the first gives the newest date, the first not
    after a summary's date the snapshot it follows."""
    found = session.connection().execute(_SNAPSHOTS, {"province": province, "cycle": cycle})
    return [(snapshot_id, day) for snapshot_id, day in found]


def _carried_over(
    session: Session, previous: int | None, unit_ids: set[int | None] | None, snapshot_id: int
) -> list[dict[str, object]]:
    """The previous snapshot's lines of these units (None: of every unit, matched or not)."""
    if previous is None or unit_ids == set():
        return []
    copied = [c for c in LINE.c if c.name not in ("id", "snapshot_id")]
    query = core_select(*copied).where(LINE.c.snapshot_id == previous).order_by(LINE.c.id)
    if unit_ids is not None:
        query = query.where(LINE.c.unit_id.in_(list(unit_ids)))
    return [{**row._asdict(), "snapshot_id": snapshot_id} for row in session.connection().execute(query)]


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
    insert_rows(session.connection(), table.__table__, rows)  # type: ignore[attr-defined]


def natural_key(record: CancellationLine, unit_id: int | None = None) -> str:
    """The same serial range is the same record; without serials: unit, project, day and quantity."""
    return cancellation_key(record, unit_id)


def apply_cancellations(
    session: Session, records: Sequence[CancellationLine], ctx: Context, list_province: str | None
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


def _outside_the_cycle(record: CancellationLine, ctx: Context) -> RowError | None:
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
    record: CancellationLine, ctx: Context, unit_id: int | None, province: str | None
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
    parts = [same_day_parts(str(row["natural_key"])) for row in rows]
    times = _times_recorded(session, [p[0] for p in parts if p is not None])
    for row, part in zip(rows, parts, strict=True):
        if part is None:
            kept.append(row)
            continue
        loose, clock = part
        seen = times[loose]
        if clock in seen or (seen and (clock == "" or "" in seen)):
            continue
        seen.add(clock)
        kept.append(row)
    return kept


def _times_recorded(session: Session, looses: list[str]) -> dict[str, set[str]]:
    """For each record named without its time, the times recorded of it: one query for many records.

    SQLite compares keys byte by byte, so the keys starting with `loose|` are a range of its index ("}"
    follows "|"); elsewhere a collation may not, and the prefix is matched as a prefix."""
    unique = list(dict.fromkeys(looses))
    times: dict[str, set[str]] = {loose: set() for loose in unique}
    key = CANCELLATION.c.natural_key
    sqlite = session.get_bind().dialect.name == "sqlite"
    for start in range(0, len(unique), CHUNK // 2):
        chunk = unique[start : start + CHUNK // 2]
        if sqlite:
            wanted = or_(*(and_(key >= f"{loose}|", key < f"{loose}}}") for loose in chunk))
        else:
            wanted = or_(*(key.startswith(f"{loose}|", autoescape=True) for loose in chunk))
        for (found,) in session.connection().execute(core_select(key).where(wanted)):
            clock = found.rpartition("|")[2]
            # every loose key this one starts with: a name may itself hold a "|"
            for cut in (i for i, char in enumerate(found) if char == "|"):
                if found[:cut] in times:
                    times[found[:cut]].add(clock)
    return times


def _insert_new(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the records whose natural key is new, in one statement; repeats are counted once."""
    if not rows:  # an empty executemany would insert one row of defaults
        return 0
    unique = list({str(r["natural_key"]): r for r in reversed(rows)}.values())[::-1]  # first of each key
    unique = _without_same_day_repeats(session, unique)
    if not unique:
        return 0
    statement = _INSERT_NEW[session.get_bind().dialect.name == "postgresql"]
    return len(session.connection().execute(statement, unique).all())


# by whether the database is PostgreSQL: each dialect's INSERT … ON CONFLICT DO NOTHING, built once
_INSERT_NEW = {
    postgres: (postgresql.insert if postgres else sqlite.insert)(CANCELLATION)
    .on_conflict_do_nothing(index_elements=["natural_key"])
    .returning(CANCELLATION.c.id)
    for postgres in (False, True)
}
