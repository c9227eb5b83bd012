"""Finding a unit from what a row says about it, and keeping every name it has been seen under."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from compliance.names import account_key, name_key
from storage.models import RosterEntry, Unit, UnitAlias

CONTESTED = "name_contested"  # an alias kind: a name another unit was listed under too
_CACHE: WeakKeyDictionary[Engine, tuple[tuple[int | None, int | None], UnitIndex]] = WeakKeyDictionary()


@dataclass
class UnitIndex:
    """All aliases and provinces in memory, so that matching a row costs no query.

    Aliases and roster entries are only ever added, so their highest ids name a state of the tables: each
    engine keeps the last index it loaded and reloads only when another transaction has added aliases or a
    roster since. Each message writes its new aliases into a layer of its own above the cached tables, so
    a rolled-back transaction leaves the cached index untouched.
    """

    by_kind: dict[str, MutableMapping[str, int]] = field(
        default_factory=lambda: {"code": {}, "name": {}, "account": {}}
    )
    provinces: Mapping[int, str] = field(default_factory=dict)
    added: int = 0  # aliases this message brought: records kept unmatched may now find their unit

    @classmethod
    def load(cls, session: Session) -> UnitIndex:
        engine = session.get_bind().engine
        mark = (  # by the primary keys: no table scan
            session.exec(select(func.max(UnitAlias.id))).one(),
            session.exec(select(func.max(RosterEntry.id))).one(),
        )
        cached = _CACHE.get(engine)
        if cached is None or cached[0] != mark:
            cached = _CACHE[engine] = (mark, cls._read(session))
        base = cached[1]
        return cls({kind: ChainMap({}, table) for kind, table in base.by_kind.items()}, base.provinces)

    @classmethod
    def _read(cls, session: Session) -> UnitIndex:
        index = cls(
            provinces={uid or 0: province for uid, province in session.exec(select(Unit.id, Unit.province))}
        )
        for kind, key, unit_id in session.exec(select(UnitAlias.kind, UnitAlias.key, UnitAlias.unit_id)):
            index.by_kind.setdefault(kind, {})[key] = unit_id
        return index

    def province(self, unit_id: int) -> str | None:
        return self.provinces.get(unit_id)

    def match(self, code: str | None, name: str | None, account: str | None) -> int | None:
        """By credit code; else by name (NFKC, no white space); else by account number."""
        if code and code in self.by_kind["code"]:
            return self.by_kind["code"][code]
        # a name two units were listed under matches neither: which one came first decides nothing
        contested = self.by_kind.get(CONTESTED, {})
        if name and name_key(name) in self.by_kind["name"] and name_key(name) not in contested:
            return self.by_kind["name"][name_key(name)]
        if account and account_key(account) in self.by_kind["account"]:
            return self.by_kind["account"][account_key(account)]
        return None


@dataclass(frozen=True)
class UnitFields:
    code: str
    province: str
    name: str
    account_no: str | None
    contact_email: str | None


def upsert_units(
    session: Session, index: UnitIndex, units: list[UnitFields], now: datetime
) -> dict[str, int]:
    """Create or update the units in three statements; returns code → unit id. New aliases are recorded."""
    ids = {u.code: index.by_kind["code"][u.code] for u in units if u.code in index.by_kind["code"]}
    latest = {u.code: u for u in units}  # a code listed twice: its last row wins
    fresh = [
        Unit(
            code=u.code,
            province=u.province,
            name=u.name,
            account_no=u.account_no,
            contact_email=u.contact_email,
            created_at=now,
        )
        for c, u in latest.items()
        if c not in ids
    ]
    session.add_all(fresh)
    session.flush()
    ids.update({unit.code: unit.id or 0 for unit in fresh})
    known = [ids[c] for c in latest if c in ids and all(f.code != c for f in fresh)]
    for unit in session.exec(select(Unit).where(col(Unit.id).in_(known))) if known else []:
        u = latest[unit.code]
        unit.province, unit.name = u.province, u.name
        unit.account_no = u.account_no or unit.account_no
        unit.contact_email = u.contact_email or unit.contact_email
    aliases = [alias for u in units for alias in _new_aliases(index, ids[u.code], u)]
    if aliases:
        session.execute(insert(UnitAlias), aliases)
    return ids


def _new_aliases(index: UnitIndex, unit_id: int, unit: UnitFields) -> list[dict[str, object]]:
    """Aliases nobody holds yet (the first holder keeps an alias), added to the index as they are found."""
    found = []
    for kind, raw in (("code", unit.code), ("name", unit.name), ("account", unit.account_no)):
        key = {"code": raw, "name": name_key(raw or ""), "account": account_key(raw or "")}[kind]
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
