"""Finding a unit from what a row says about it, and keeping every name it has been seen under."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from compliance.names import account_key, name_key
from storage.bulk import among, insert_ids, insert_rows
from storage.models import RosterEntry, Unit, UnitAlias

CONTESTED = "name_contested"  # an alias kind: a name another unit was listed under too
UNIT: Table = Unit.__table__  # type: ignore[attr-defined]
ALIAS: Table = UnitAlias.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Mark:
    """The highest alias and roster entry ids: both tables are only ever added to, so they name a state."""

    aliases: int
    entries: int

    def follows(self, earlier: _Mark) -> bool:
        return self.aliases >= earlier.aliases and self.entries >= earlier.entries


_CACHE: WeakKeyDictionary[Engine, tuple[_Mark, UnitIndex]] = WeakKeyDictionary()
K = TypeVar("K")
V = TypeVar("V")


class _Layer(dict[K, V]):
    """A message's own additions above a cached table, which stays as it was: what ChainMap does, at the
    cost of a dict lookup (a roster of thousands of rows asks it tens of thousands of times). Iterating
    gives only the additions."""

    def __init__(self, below: Mapping[K, V]) -> None:
        super().__init__()
        self.below = below

    def __missing__(self, key: K) -> V:
        return self.below[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.below

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        found = dict.get(self, key)
        return found if found is not None else self.below.get(key, default)


@dataclass
class UnitIndex:
    """All aliases and provinces in memory, so that matching a row costs no query.

    Each engine keeps the last index it loaded; when another transaction has added aliases or a roster
    since, only what was added is read (the new aliases, the provinces of the units the new roster entries
    name). Each message writes its new aliases and provinces into a layer of its own above the cached
    tables, so a rolled-back transaction leaves the cached index untouched.
    """

    by_kind: dict[str, MutableMapping[str, int]] = field(
        default_factory=lambda: {"code": {}, "name": {}, "account": {}}
    )
    provinces: MutableMapping[int, str] = field(default_factory=dict)
    added: int = 0  # aliases this message brought: records kept unmatched may now find their unit

    @classmethod
    def load(cls, session: Session) -> UnitIndex:
        engine = session.get_bind().engine
        mark = _mark(session)
        cached = _CACHE.get(engine)
        if cached is None or not mark.follows(cached[0]):
            cached = _CACHE[engine] = (mark, cls._read(session))
        elif cached[0] != mark:
            cached = _CACHE[engine] = (mark, cached[1]._followed(session, cached[0]))
        base = cached[1]
        return cls({kind: _Layer(table) for kind, table in base.by_kind.items()}, _Layer(base.provinces))

    @classmethod
    def _read(cls, session: Session) -> UnitIndex:
        read = session.connection().execute
        index = cls(
            provinces={unit_id: province for unit_id, province in read(select(UNIT.c.id, UNIT.c.province))}
        )
        index._add_aliases(read(select(ALIAS.c.kind, ALIAS.c.key, ALIAS.c.unit_id)))
        return index

    def _followed(self, session: Session, since: _Mark) -> UnitIndex:
        """A copy with what was added after `since`: the cached one may still be read by another message."""
        index = UnitIndex({kind: dict(table) for kind, table in self.by_kind.items()}, dict(self.provinces))
        new = select(ALIAS.c.kind, ALIAS.c.key, ALIAS.c.unit_id).where(ALIAS.c.id > since.aliases)
        read = session.connection().execute
        index._add_aliases(read(new.order_by(ALIAS.c.id)))
        named = select(RosterEntry.unit_id).where(col(RosterEntry.id) > since.entries)
        aliased = select(ALIAS.c.unit_id).where(ALIAS.c.id > since.aliases)
        moved = select(UNIT.c.id, UNIT.c.province).where(or_(UNIT.c.id.in_(named), UNIT.c.id.in_(aliased)))
        index.provinces.update({unit_id: province for unit_id, province in read(moved)})
        return index

    def _add_aliases(self, rows: Iterable[tuple[str, str, int]]) -> None:
        for kind, key, unit_id in rows:
            self.by_kind.setdefault(kind, {})[key] = unit_id

    def province(self, unit_id: int) -> str | None:
        return self.provinces.get(unit_id)

    def match(self, code: str | None, name: str | None, account: str | None) -> int | None:
        """By credit code; else by name (NFKC, no white space); else by account number."""
        if code and code in self.by_kind["code"]:
            return self.by_kind["code"][code]
        # a name two units were listed under matches neither: which one came first decides nothing
        if name:
            key = name_key(name)
            if key in self.by_kind["name"] and key not in self.by_kind.get(CONTESTED, {}):
                return self.by_kind["name"][key]
        if account and account_key(account) in self.by_kind["account"]:
            return self.by_kind["account"][account_key(account)]
        return None


# by the primary keys, in one statement built once: no table scan
_MARK = select(
    select(func.max(ALIAS.c.id)).scalar_subquery(), select(func.max(RosterEntry.id)).scalar_subquery()
)


def _mark(session: Session) -> _Mark:
    found = session.connection().execute(_MARK).one()
    return _Mark(found[0] or 0, found[1] or 0)


@dataclass(frozen=True)
class UnitFields:
    code: str
    province: str
    name: str
    account_no: str | None
    contact_email: str | None


@dataclass(frozen=True)
class UnitRow:
    """A unit as the database holds it before a roster is applied."""

    id: int
    code: str
    province: str
    name: str
    account_no: str | None
    contact_email: str | None


def units_by_code(session: Session, codes: Iterable[str]) -> dict[str, UnitRow]:
    """The units with these codes, read once for a whole roster."""
    wanted, found = list(dict.fromkeys(codes)), {}
    columns = (UNIT.c.id, UNIT.c.code, UNIT.c.province, UNIT.c.name, UNIT.c.account_no, UNIT.c.contact_email)
    for condition in among(session.connection(), UNIT.c.code, wanted):
        found.update(
            {row.code: UnitRow(*row) for row in session.execute(core_select(*columns).where(condition))}
        )
    return found


def upsert_units(
    session: Session, index: UnitIndex, units: list[UnitFields], now: datetime, current: Mapping[str, UnitRow]
) -> dict[str, int]:
    """Create or update the units (`current`: as they are now, from units_by_code) in three statements;
    returns code → unit id. New aliases are recorded, and every unit's province is set in the index."""
    ids = {u.code: index.by_kind["code"][u.code] for u in units if u.code in index.by_kind["code"]}
    latest = {u.code: u for u in units}  # a code listed twice: its last row wins
    fresh = [u for c, u in latest.items() if c not in ids]
    if fresh:
        rows = [{**_unit_values(u), "created_at": now} for u in fresh]
        ids.update(zip((u.code for u in fresh), insert_ids(session.connection(), UNIT, rows), strict=True))
    changed = [
        {"unit_id": ids[c], **{f"new_{name}": value for name, value in values.items()}}
        for c, u in latest.items()
        if (row := current.get(c)) is not None and (values := _updated(row, u)) is not None
    ]
    if changed:
        names = ("province", "name", "account_no", "contact_email")
        where = update(UNIT).where(UNIT.c.id == bindparam("unit_id"))
        session.connection().execute(where.values({n: bindparam(f"new_{n}") for n in names}), changed)
    index.provinces.update({ids[c]: u.province for c, u in latest.items()})
    aliases = [alias for u in units for alias in _new_aliases(index, ids[u.code], u)]
    insert_rows(session.connection(), ALIAS, aliases)
    return ids


def _unit_values(unit: UnitFields) -> dict[str, object]:
    return {
        "code": unit.code,
        "province": unit.province,
        "name": unit.name,
        "account_no": unit.account_no,
        "contact_email": unit.contact_email,
    }


def _updated(row: UnitRow, unit: UnitFields) -> dict[str, str | None] | None:
    """The unit's new values, None when the roster changes none: a blank account or address keeps it."""
    values = {
        "province": unit.province,
        "name": unit.name,
        "account_no": unit.account_no or row.account_no,
        "contact_email": unit.contact_email or row.contact_email,
    }
    before = {
        "province": row.province,
        "name": row.name,
        "account_no": row.account_no,
        "contact_email": row.contact_email,
    }
    return None if values == before else values


def _new_aliases(index: UnitIndex, unit_id: int, unit: UnitFields) -> list[dict[str, object]]:
    """Aliases nobody holds yet (the first holder keeps an alias), added to the index as they are found."""
    found = []
    keys = (
        ("code", unit.code),
        ("name", name_key(unit.name)),
        ("account", account_key(unit.account_no or "")),
    )
    for kind, key in keys:
        if key and key not in index.by_kind[kind]:
            index.by_kind[kind][key] = unit_id
            index.added += 1
            found.append({"unit_id": unit_id, "kind": kind, "key": key})
        elif kind == "name" and key and index.by_kind[kind][key] != unit_id:
            contested = index.by_kind.setdefault(CONTESTED, {})
            if key not in contested:
                contested[key] = unit_id
                found.append({"unit_id": unit_id, "kind": CONTESTED, "key": key})
    return found


def find_unit(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code)).first()


def unit_named(session: Session, name: str, province: str | None = None) -> Unit | None:
    """The unit known under exactly this name (after normalising), within a province ("*" or None: all)."""
    key = name_key(name)
    if not key:
        return None
    query = (
        select(Unit)
        .join(UnitAlias, col(UnitAlias.unit_id) == Unit.id)
        .where(UnitAlias.kind == "name", UnitAlias.key == key)
    )
    if province not in (None, "*"):
        query = query.where(Unit.province == province)
    return session.exec(query).first()


def search_units(session: Session, fragment: str, province: str | None, limit: int = 20) -> list[Unit]:
    """Units whose code or any known name contains the fragment, within a province ("*" or None: all)."""
    key = name_key(fragment).upper()
    query = select(Unit)
    if province not in (None, "*"):
        query = query.where(Unit.province == province)
    found = [u for u in session.exec(query) if key in u.code or name_key(fragment) in name_key(u.name)]
    return sorted(found, key=lambda u: u.code)[:limit]
