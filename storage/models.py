"""The tables. Every instant is an aware datetime stored as UTC (see columns.UTCDateTime).

Facts carry `known_at`, the instant the bot learned them (the message's date), so that the state of any
past instant can be rebuilt: the state at T is built from the facts known at T.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.columns import UTCDateTime
from storage.cycles import default_cycle


def _at(nullable: bool = False, index: bool = False) -> Column[Any]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def _cycle() -> Column[Any]:
    """The cycle a fact belongs to (its name, "2019-2020"); set when applied, else from its known_at."""
    return Column(AutoString(), nullable=False, index=True, default=default_cycle)


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=18)
    province: str = Field(index=True)
    name: str
    account_no: str | None = None
    contact_email: str | None = None
    created_at: datetime = Field(sa_column=_at())


class UnitAlias(SQLModel, table=True):
    """Every name, account number and code a unit has been seen under, normalised for matching."""

    __table_args__ = (UniqueConstraint("kind", "key", name="uq_unit_alias_kind_key"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: str  # code | name | account
    key: str


class InboundMessage(SQLModel, table=True):
    """Every message that reached the bot, raw bytes first, then what became of it."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: str | None = Field(default=None, index=True)
    content_hash: str = Field(unique=True, max_length=64)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    source: str  # file path, or imap://user@host/folder;uid=N
    sender: str | None = None
    subject: str = ""
    sent_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    received_at: datetime = Field(sa_column=_at())
    kind: str = "unknown"
    province: str | None = None
    trusted: bool = False
    state: str = Field(default="received", index=True)  # received | processing | done | quarantined
    attempts: int = 0
    outcome: str | None = None
    reason: str | None = None
    rows_applied: int = 0
    row_errors: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    snapshot_date: date | None = None
    # a file an officer bound in chat handed in: trusted by that binding (its chat and province, "*" for a
    # national officer), never by its From line; kept so that a retry judges it the same way
    handed_in_by: str | None = None
    handed_in_for: str | None = None


class RosterEntry(SQLModel, table=True):
    __table_args__ = (Index("ix_roster_unit_known", "unit_id", "known_at"),)
    id: int | None = Field(default=None, primary_key=True)
    message_pk: int = Field(foreign_key="inboundmessage.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    known_at: datetime = Field(sa_column=_at())
    province: str
    name: str
    account_no: str | None = None
    allowances_due_t: int | None = Field(default=None, sa_type=BigInteger)
    surrendered_t: int | None = Field(default=None, sa_type=BigInteger)
    complied: bool | None = None
    contact_email: str | None = None
    cycle: str = Field(sa_column=_cycle())
    sector: str | None = None  # power | steel | cement | aluminium


class RosterYear(SQLModel, table=True):
    """One obligation's figures in a roster row ("2021", "2022"; the first cycle's "2019-2020")."""

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="rosterentry.id", index=True)
    obligation: str
    allowances_due_t: int | None = Field(default=None, sa_type=BigInteger)
    surrendered_t: int | None = Field(default=None, sa_type=BigInteger)
    complied: bool | None = None


class ContactChange(SQLModel, table=True):
    """A roster changed a unit's contact address: the old address is told, and the new one is not used to
    bind a chat by email until an officer confirms it or `usable_from` has come."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    message_pk: int = Field(foreign_key="inboundmessage.id")
    old_address: str | None = None
    new_address: str
    known_at: datetime = Field(sa_column=_at())
    usable_from: datetime = Field(sa_column=_at())
    confirmed_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    confirmed_by: str | None = None  # the officer's chat: str(Peer), "telegram:1001"


class WeeklySnapshot(SQLModel, table=True):
    __table_args__ = (Index("ix_snapshot_province_known", "province", "known_at"),)
    id: int | None = Field(default=None, primary_key=True)
    message_pk: int = Field(foreign_key="inboundmessage.id", index=True)
    province: str
    as_of: date
    known_at: datetime = Field(sa_column=_at())
    superseded: bool = False
    cycle: str = Field(sa_column=_cycle())


class ApplicationLine(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="weeklysnapshot.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    row: int
    code: str | None = None
    name: str
    name_key: str = Field(index=True)
    project_no: str | None = None
    project_name: str | None = None
    vintage_start: date | None = None
    vintage_end: date | None = None
    requested_t: int = Field(sa_type=BigInteger)
    confirmed_t: int | None = Field(default=None, sa_type=BigInteger)
    result: str  # pending | confirmed | rejected
    confirmed_on: date | None = None
    # When a later roster matched a line kept unmatched: before then it belonged to no unit (replay).
    matched_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class CancellationRecord(SQLModel, table=True):
    """One CCER cancellation, counted once however often the lists repeat it (natural_key is unique)."""

    id: int | None = Field(default=None, primary_key=True)
    natural_key: str = Field(unique=True)
    message_pk: int = Field(foreign_key="inboundmessage.id", index=True)
    known_at: datetime = Field(sa_column=_at())
    province: str | None = Field(default=None, index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    row: int
    holder_name: str
    name_key: str = Field(index=True)
    code: str | None = None
    account_no: str | None = None
    project_no: str | None = None
    project_name: str | None = None
    project_type: str | None = None
    serial_from: str | None = None
    serial_to: str | None = None
    quantity_t: int = Field(sa_type=BigInteger)
    cancelled_at: datetime = Field(sa_column=_at())
    purpose: str | None = None
    # When a later roster matched a record kept unmatched: before then it was unmatched (replay).
    matched_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    cycle: str = Field(sa_column=_cycle())


class OffsetOperation(SQLModel, table=True):
    """One 全国履约抵销 operation, counted once however often the lists repeat it (natural_key is unique).

    Its state is not kept here: each state a list reports is an OperationEvent, so that the state at any
    past instant can be read back.
    """

    id: int | None = Field(default=None, primary_key=True)
    natural_key: str = Field(unique=True)
    cycle: str = Field(sa_column=_cycle())
    message_pk: int = Field(foreign_key="inboundmessage.id", index=True)  # the first list that gave it
    known_at: datetime = Field(sa_column=_at())
    province: str | None = Field(default=None, index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    row: int
    name: str
    name_key: str = Field(index=True)
    code: str | None = None
    project_no: str | None = None
    project_name: str | None = None
    project_type: str | None = None
    obligation: str | None = None  # 抵销年度; None: the list does not say
    quantity_t: int = Field(sa_type=BigInteger)
    operated_on: date
    operation_no: str | None = None
    ccer_kind: str | None = None  # old | new; None: the list does not say


class OperationEvent(SQLModel, table=True):
    """A state of an operation (held 待抵销 · used 已抵销 · withdrawn 已撤销) as a list reported it."""

    __table_args__ = (Index("ix_operationevent_operation_known", "operation_id", "known_at"),)
    id: int | None = Field(default=None, primary_key=True)
    operation_id: int = Field(foreign_key="offsetoperation.id")
    message_pk: int = Field(foreign_key="inboundmessage.id", index=True)
    known_at: datetime = Field(sa_column=_at())
    state: str


def _platform() -> Any:
    return Field(default="telegram", sa_column_kwargs={"server_default": "telegram"})


class ChatBinding(SQLModel, table=True):
    """A chat bound to a unit (emitter) or a province (officer). A chat is (platform, chat id as text):
    one person bound on several platforms has a row on each."""

    __table_args__ = (Index("ix_chatbinding_platform_chat", "platform", "chat_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = _platform()
    chat_id: str
    role: str  # emitter | officer
    unit_code: str | None = None
    province: str | None = None  # officer: a province or "*"
    lang: str = "zh"
    bound_at: datetime = Field(sa_column=_at())


class ChatPreference(SQLModel, table=True):
    """Language of a chat that is not bound (yet)."""

    platform: str = Field(default="telegram", primary_key=True)
    chat_id: str = Field(primary_key=True)
    lang: str = "zh"


class OneTimeCode(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True, max_length=64)
    role: str
    unit_code: str | None = None
    province: str | None = None
    created_at: datetime = Field(sa_column=_at())
    expires_at: datetime = Field(sa_column=_at())
    used_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    used_by_chat: str | None = None  # str(Peer), "telegram:1001"


class BindAttempt(SQLModel, table=True):
    __table_args__ = (Index("ix_bindattempt_chat_at", "platform", "chat_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = _platform()
    chat_id: str
    at: datetime = Field(sa_column=_at())
    ok: bool = False


class OutboxItem(SQLModel, table=True):
    """The ledger of everything the bot says unprompted: one row per message, unique by key.

    key = audience|recipient|kind|cycle|day (or |object for one-off alerts), so that a restart or a second
    instance can never write, and so never send, the same item twice.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    audience: str  # emitter | officer | sender
    channel: str  # telegram | email | wecom | dingtalk | feishu
    recipient: str
    kind: str
    subject: str = ""
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", index=True)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_at(index=True))
    last_error: str | None = None
    created_at: datetime = Field(sa_column=_at())
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    # An email on someone's behalf (the province's weekly summary to NCSC): its From, its copies and a file.
    sender: str | None = None
    cc: str | None = None  # addresses separated by ", "
    attachment_name: str | None = None
    attachment: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ImapCursor(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(unique=True)  # user@host/folder
    uidvalidity: int = Field(sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)
    last_mail_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class OffsetApplication(SQLModel, table=True):
    """An emitter's 申请表 as it came by mail: a proposal from an untrusted sender, waiting for an
    officer. It changes no unit's state; the weekly summary the officers send does, once read back."""

    __table_args__ = (Index("ix_offsetapplication_province_state", "province", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    message_pk: int = Field(foreign_key="inboundmessage.id", index=True)
    cycle: str
    province: str | None = None  # the unit's; None: a unit nobody knows (national officers see it)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    code: str | None = None
    name: str
    sender: str | None = None
    received_at: datetime = Field(sa_column=_at())
    allowances_due_t: int | None = Field(default=None, sa_type=BigInteger)  # as the form states it
    requested_t: int | None = Field(default=None, sa_type=BigInteger)
    account_no: str | None = None
    checks: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # JSON
    problems: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # JSON
    state: str = "pending"  # pending | confirmed | returned
    decided_by: str | None = None  # the officer's chat: str(Peer), "telegram:1001"
    decided_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    reason: str | None = None  # why it was returned: a reason's key or the officer's words


class OffsetApplicationProject(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="offsetapplication.id", index=True)
    project_no: str | None = None
    project_name: str | None = None
    vintage_start: date | None = None
    vintage_end: date | None = None
    requested_t: int | None = Field(default=None, sa_type=BigInteger)


class SummaryDraft(SQLModel, table=True):
    """A province's weekly summary composed from the officers' decisions, shown to them until one sends it."""

    __table_args__ = (UniqueConstraint("province", "as_of", name="uq_summarydraft_province_as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    province: str
    cycle: str
    as_of: date
    composed_at: datetime = Field(sa_column=_at())
    units: int = 0
    xlsx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = "shown"  # shown | sent
    approved_by: str | None = None  # str(Peer)
    approved_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class CancellationScreenshot(SQLModel, table=True):
    """Step 5's proof: an emitter's stamped screenshot of its cancellation, kept as sent (never read), from
    the unit's contact address on file or a chat bound to the unit."""

    __table_args__ = (UniqueConstraint("message_pk", "unit_id", name="uq_screenshot_message_unit"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    cycle: str
    message_pk: int | None = Field(default=None, foreign_key="inboundmessage.id")  # None: sent in chat
    source: str  # "mail", or the chat it came from: str(Peer), "telegram:1001"
    filename: str | None = None
    content_type: str
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=_at())
