"""Mail of the later cycles for intake tests: per-year rosters with sectors, and offset-operation lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from mail import intake
from mail.intake import IntakeConfig, Outcome
from mail.trust import Senders
from storage.engine import session_scope
from storage.state import KnownUnit, UnitFacts, facts_at
from tests.intake.world import GD, NCSC, SD, TZ, Unit, xlsx_mail
from tests.told import notifying

REGISTRY = "lvyue@chinacrc.example"
SENDERS = Senders.build([NCSC], {"山东省": [SD], "广东省": [GD]}, registry=[REGISTRY])
CONFIG = notifying(IntakeConfig(senders=SENDERS, tz=TZ))
OPERATIONS_HEADER = (
    "序号", "业务编号", "操作日期", "重点排放单位名称", "统一社会信用代码", "项目编号", "项目名称",
    "项目类型", "抵销年度", "申请抵销量（吨）", "状态", "CCER类型",
)  # fmt: skip


@dataclass(frozen=True)
class Op:
    number: str | None
    day: str
    unit: Unit
    year: object
    quantity: int
    state: str
    kind: str | None = "存量"
    project: str = "CCER-14-001"


def take(engine: Engine, raw: bytes, now: datetime, name: str = "mail.eml") -> Outcome:
    return intake.take(engine, raw, name, CONFIG, now)


def per_year_roster_rows(
    units: Sequence[Unit], years: Sequence[str], sectors: Sequence[str], complied: str | None = None
) -> list[list[object]]:
    header: list[object] = ["序号", "省份", "重点排放单位名称", "统一社会信用代码", "所属行业"]
    for year in years:
        header += [f"{year}年度应清缴配额量（吨）", f"{year}年度已清缴配额量", f"{year}年度履约状态"]
    rows: list[list[object]] = [["重点排放单位名录"], header]
    for n, (unit, sector) in enumerate(zip(units, sectors, strict=True), 1):
        row: list[object] = [n, unit.province, unit.name, unit.code, sector]
        for k, _ in enumerate(years):
            row += [unit.due + k * 1000, None, complied]
        rows.append(row)
    return rows


def operation_rows(ops: Sequence[Op]) -> list[list[object]]:
    rows: list[list[object]] = [["全国履约抵销操作记录"], list(OPERATIONS_HEADER)]
    for n, op in enumerate(ops, 1):
        rows.append(
            [n, op.number, op.day, op.unit.name, op.unit.code, op.project, "某风电项目", "风电",
             op.year, op.quantity, op.state, op.kind]
        )  # fmt: skip
    return rows


def operations_mail(
    sender: str, when: str, ops: Sequence[Op], subject: str = "全国履约抵销操作记录"
) -> bytes:
    return xlsx_mail(sender, subject, when, operation_rows(ops))


def facts(
    engine: Engine, at: datetime, cycle: str | None, codes: Sequence[str] | None = None
) -> dict[str, tuple[KnownUnit, UnitFacts]]:
    with session_scope(engine) as session:
        return {known.unit.code: (known, f) for known, f in facts_at(session, at, codes=codes, cycle=cycle)}
