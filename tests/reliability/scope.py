"""Who may see what (DESIGN.md), as something a reply can be checked against.

Every unit and every province leaves marks a reader could recognise: a unit's credit code, its names,
its account numbers and contact addresses; a province's name, its unmatched cancellation holders and
the senders and subjects of its quarantined mail. A reader may meet only the marks of what it may see:
an unbound chat none, an emitter those of its own unit (and its province's name), a provincial officer
those of its province, a national officer all.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.reports import unit_reports
from compliance.cycle import load_cycle
from mail.intake import IntakeConfig, take
from mail.trust import Senders
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import CancellationRecord, InboundMessage, RosterEntry, Unit
from tests.reliability.harness import STORY

CYCLE = load_cycle("2019-2020")
NOW = datetime(2021, 12, 20, 10, 0, tzinfo=CYCLE.tz)  # after the deadline of 12-15, before the last roster


@dataclass(frozen=True)
class Reader:
    label: str
    chat_id: int
    role: str | None = None  # None: not bound
    unit: str | None = None
    province: str | None = None


@dataclass
class World:
    engine: Engine
    unit_marks: dict[str, set[str]] = field(default_factory=dict)  # code -> marks
    unit_province: dict[str, str] = field(default_factory=dict)
    province_marks: dict[str, set[str]] = field(default_factory=dict)

    @property
    def provinces(self) -> list[str]:
        return sorted(self.province_marks)

    def units_of(self, province: str) -> list[str]:
        return sorted(c for c, p in self.unit_province.items() if p == province)

    def readers(self) -> list[Reader]:
        found = [Reader("unbound", 9000)]
        found += [
            Reader(f"emitter {code}", 9100 + n, "emitter", unit=code)
            for n, code in enumerate(sorted(self.unit_marks))
        ]
        found += [
            Reader(f"officer {p}", 9200 + n, "officer", province=p) for n, p in enumerate(self.provinces)
        ]
        return [*found, Reader("officer *", 9300, "officer", province="*")]

    def allowed(self, reader: Reader) -> set[str]:
        if reader.role == "emitter" and reader.unit:
            return self.unit_marks[reader.unit] | {self.unit_province[reader.unit]}
        if reader.role == "officer" and reader.province == "*":
            return self.every_mark()
        if reader.role == "officer" and reader.province:
            own = set(self.province_marks[reader.province])
            for code in self.units_of(reader.province):
                own |= self.unit_marks[code]
            return own
        return set()

    def every_mark(self) -> set[str]:
        marks: set[str] = set()
        for found in [*self.unit_marks.values(), *self.province_marks.values()]:
            marks |= found
        return marks

    def forbidden(self, reader: Reader) -> set[str]:
        return self.every_mark() - self.allowed(reader)


def build_world(folder: Path, mail: Iterable[bytes]) -> World:
    """The demo's mailbox taken in, and the marks each unit and province left in the database."""
    engine = make_engine(f"sqlite:///{folder / 'access.db'}")
    upgrade(engine)
    senders = Senders.build(STORY["senders"]["ncsc"], STORY["senders"]["provinces"])
    for n, raw in enumerate(mail):
        take(engine, raw, f"story-{n}", IntakeConfig(senders, CYCLE.tz), NOW)
    world = World(engine)
    with Session(engine) as session:
        for unit in session.exec(select(Unit)):
            world.unit_province[unit.code] = unit.province
            marks = world.unit_marks.setdefault(unit.code, set())
            marks |= {m for m in (unit.code, unit.name, unit.account_no, unit.contact_email) if m}
        for entry, code in session.exec(select(RosterEntry, Unit.code).join(Unit)):
            marks = world.unit_marks[code]
            marks |= {m for m in (entry.name, entry.account_no, entry.contact_email) if m}
        for report in unit_reports(engine, CYCLE, NOW):
            world.province_marks.setdefault(report.province, {report.province})
        for record in session.exec(
            select(CancellationRecord).where(col(CancellationRecord.unit_id).is_(None))
        ):
            world.province_marks.setdefault(record.province or "", set()).add(record.holder_name)
        for message in session.exec(select(InboundMessage).where(InboundMessage.state == "quarantined")):
            marks = world.province_marks.setdefault(message.province or "", set())
            marks |= {m for m in (message.sender, message.subject) if m}
    world.province_marks.pop("", None)
    return world


def leaks(world: World, reader: Reader, shown: str, typed: Iterable[str] = ()) -> set[str]:
    """The marks in `shown` that `reader` may not see; words the reader typed itself do not count."""
    shown = _without(shown, typed)
    return {mark for mark in world.forbidden(reader) if mark in shown}


def seen(world: World, shown: str, typed: Iterable[str] = ()) -> set[str]:
    """Every mark in `shown`, but those the reader typed itself."""
    shown = _without(shown, typed)
    return {mark for mark in world.every_mark() if mark in shown}


@dataclass
class Verdict:
    """Every reply judged, per reader: the marks it leaked, and every mark it showed."""

    world: World
    leaked: dict[str, set[str]] = field(default_factory=dict)
    shown: dict[str, set[str]] = field(default_factory=dict)
    replies: int = 0

    def judge(self, reader: Reader, shown: str, typed: Iterable[str] = ()) -> None:
        """One reply (text, buttons, file) shown to `reader`, after it typed `typed`."""
        typed = list(typed)
        self.replies += 1
        self.leaked.setdefault(reader.label, set()).update(leaks(self.world, reader, shown, typed))
        self.shown.setdefault(reader.label, set()).update(seen(self.world, shown, typed))

    def leaks(self) -> dict[str, list[str]]:
        """Reader label → the marks it may not see but was shown; empty when nothing leaked."""
        return {who: sorted(marks) for who, marks in self.leaked.items() if marks}

    def seen_by(self, label: str) -> set[str]:
        return self.shown.get(label, set())


def _without(shown: str, typed: Iterable[str]) -> str:
    for word in typed:
        shown = shown.replace(word, " ")
    return shown


def workbook_text(data: bytes) -> str:
    """Every cell of every sheet of an xlsx, as text."""
    book = load_workbook(io.BytesIO(data), read_only=True)
    cells = [
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    book.close()
    return "\n".join(cells)
