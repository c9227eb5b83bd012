"""Finding a unit from what a row says about it, and keeping every name it has been seen under."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from compliance.names import account_key, name_key
from storage.models import Unit, UnitAlias


@dataclass
class UnitIndex:
    """All aliases in memory: one query per message instead of three per row."""

    by_kind: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"code": {}, "name": {}, "account": {}}
    )

    @classmethod
    def load(cls, session: Session) -> UnitIndex:
        index = cls()
        for alias in session.exec(select(UnitAlias)):
            index.by_kind.setdefault(alias.kind, {})[alias.key] = alias.unit_id
        return index

    def match(self, code: str | None, name: str | None, account: str | None) -> int | None:
        """By credit code; else by name (NFKC, no white space); else by account number."""
        if code and code in self.by_kind["code"]:
            return self.by_kind["code"][code]
        if name and name_key(name) in self.by_kind["name"]:
            return self.by_kind["name"][name_key(name)]
        if account and account_key(account) in self.by_kind["account"]:
            return self.by_kind["account"][account_key(account)]
        return None


def remember(session: Session, index: UnitIndex, unit_id: int, kind: str, raw: str | None) -> None:
    """Record an alias unless some unit already holds it (the first holder keeps it)."""
    if not raw:
        return
    key = {"code": raw, "name": name_key(raw), "account": account_key(raw)}[kind]
    if not key or key in index.by_kind[kind]:
        return
    index.by_kind[kind][key] = unit_id
    session.add(UnitAlias(unit_id=unit_id, kind=kind, key=key))


def upsert_unit(
    session: Session,
    index: UnitIndex,
    *,
    code: str,
    province: str,
    name: str,
    account_no: str | None,
    contact_email: str | None,
    now: datetime,
) -> Unit:
    unit_id = index.match(code, None, None)
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit is None:
        unit = Unit(
            code=code,
            province=province,
            name=name,
            account_no=account_no,
            contact_email=contact_email,
            created_at=now,
        )
        session.add(unit)
        session.flush()
    else:
        unit.province, unit.name = province, name
        unit.account_no = account_no or unit.account_no
        unit.contact_email = contact_email or unit.contact_email
    assert unit.id is not None
    remember(session, index, unit.id, "code", code)
    remember(session, index, unit.id, "name", name)
    remember(session, index, unit.id, "account", account_no)
    return unit


def find_unit(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code)).first()


def search_units(session: Session, fragment: str, province: str | None, limit: int = 20) -> list[Unit]:
    """Units whose code or any known name contains the fragment, within a province ("*" or None: all)."""
    key = name_key(fragment).upper()
    query = select(Unit)
    if province not in (None, "*"):
        query = query.where(Unit.province == province)
    found = [u for u in session.exec(query) if key in u.code or name_key(fragment) in name_key(u.name)]
    return sorted(found, key=lambda u: u.code)[:limit]
