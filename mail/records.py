"""Typed records that the row parsers produce and the applier consumes.

A parser never touches the database: it turns one table into these records plus row errors.
Amounts are whole tonnes (already converted from 万吨); codes are normalised (upper case, no spaces)
but not necessarily valid — an invalid check character is a row error, not a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

MessageKind = Literal[
    "roster",
    "weekly_summary",
    "cancellation_list",
    "offset_operations",
    "application",
    "status_query",  # an emitter asking how it stands: answered to its address on file, never applied
    "screenshot",  # step 5's stamped screenshot of the cancellation, filed against the unit
    "unknown",
]
ApplicationResult = Literal["pending", "confirmed", "rejected"]
OperationState = Literal["held", "used", "withdrawn"]  # 待抵销 / 已抵销 / 已撤销
CcerKind = Literal["old", "new"]


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based row number in the sheet as a person sees it in Excel
    reason: str  # one line, Chinese, names the column and the value


@dataclass(frozen=True)
class RosterYear:
    """One obligation's figures in a roster row, from columns whose header names its year."""

    obligation: str  # "2021", or a span "2019-2020" as the header writes it
    allowances_due_t: int | None
    surrendered_t: int | None
    complied: bool | None


@dataclass(frozen=True)
class RosterRecord:
    row: int
    province: str | None  # None: take the sender's province
    name: str
    code: str | None
    account_no: str | None
    allowances_due_t: int | None  # from a column without a year
    surrendered_t: int | None
    complied: bool | None  # None: blank, unknown
    contact_email: str | None
    years: tuple[RosterYear, ...] = ()  # from columns whose header names a year
    sector: str | None = None  # power | steel | cement | aluminium


@dataclass(frozen=True)
class ProjectLine:
    row: int
    project_no: str | None
    project_name: str | None
    vintage_start: date | None
    vintage_end: date | None
    requested_t: int
    confirmed_t: int | None  # None: column absent or blank
    result: ApplicationResult
    confirmed_on: date | None


@dataclass(frozen=True)
class ApplicationRecord:
    """One unit's application in a weekly summary: its first row plus continuation rows."""

    row: int
    province: str | None
    name: str
    code: str | None
    allowances_due_t: int | None
    lines: tuple[ProjectLine, ...]


@dataclass(frozen=True)
class CancellationLine:
    """One row of a cancellation list as read; `storage.models.CancellationRecord` is what is kept of it."""

    row: int
    cancelled_at: datetime  # aware; a bare date is taken as 00:00 local
    holder_name: str
    code: str | None
    account_no: str | None
    project_no: str | None
    project_name: str | None
    project_type: str | None
    serial_from: str | None
    serial_to: str | None
    quantity_t: int
    purpose: str | None


@dataclass(frozen=True)
class OperationRecord:
    """One 全国履约抵销 operation as a list from the national registry gives it."""

    row: int
    operated_on: date
    name: str
    code: str | None
    project_no: str | None
    project_name: str | None
    project_type: str | None
    obligation: str | None  # 抵销年度; None: not given
    quantity_t: int
    state: OperationState
    operation_no: str | None
    ccer_kind: CcerKind | None


@dataclass(frozen=True)
class FormProject:
    """One CCER project of an emitter's application form (附件2 申请表)."""

    project_no: str | None
    project_name: str | None
    vintage_start: date | None
    vintage_end: date | None
    requested_t: int | None


@dataclass(frozen=True)
class ApplicationForm:
    """An emitter's 申请表 as read from a sheet, a Word table or the body: a proposal, never a fact.

    `problems` are what could not be read (one line each); the form is kept with them for an officer."""

    row: int
    name: str | None
    code: str | None
    allowances_due_t: int | None
    requested_t: int | None
    account_no: str | None  # 全国碳排放权注册登记系统账户号
    projects: tuple[FormProject, ...]
    problems: tuple[str, ...] = ()


Record = RosterRecord | ApplicationRecord | CancellationLine | OperationRecord | ApplicationForm


@dataclass
class ParsedTable:
    """What the parser made of one table."""

    kind: MessageKind
    header_row: int  # 1-based
    records: list[Record] = field(default_factory=list)
    row_errors: list[RowError] = field(default_factory=list)
    snapshot_date: date | None = None  # 截至 date found in the title rows
    province_hint: str | None = None  # a province named in the title rows
    # weekly summaries: units whose rows were refused, as (code, name); they keep the application they had
    refused_units: list[tuple[str | None, str]] = field(default_factory=list)
    # the obligations that column headers name ("2019-2020年度应清缴配额量" → "2019-2020")
    header_obligations: tuple[str, ...] = ()
