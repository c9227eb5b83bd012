"""One message in, one outcome out: `take` stores it raw, reads it, judges it and applies it in one
transaction, in which whoever must hear of it is told (the notifier the caller gives: receipts, alerts).

Every way a message arrives (IMAP, a folder, `ingest`, `quarantine retry`, the demo) goes through `take`
or, for a message already stored, `process`. received → processing (attempts + 1, committed first) →
done | quarantined. A message whose processing raises is tried again up to MAX_ATTEMPTS times and then
quarantined, so one poison message never stops the loop; a crash between the steps leaves it in the
queue, and `resume` finishes it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from mail import apply, collector, operations
from mail.application_form import form_tables, read_forms
from mail.applications import STRANGER_APPLICATIONS_PER_DAY, held_because, store_forms
from mail.classify import kind_from_subject, province_from_text
from mail.emitter_requests import emitter_request, file_screenshots
from mail.handed_in import HandedIn, vouched
from mail.mime import Attachment, Headline, MailUnreadable, Walked, read_headline, walk
from mail.province_claims import Claim
from mail.records import ApplicationForm, MessageKind, ParsedTable, Record, RowError
from mail.refusals import no_table_reason
from mail.rows import parse_table, snapshot_date
from mail.sandbox import WorkerStopped
from mail.sniff import SPREADSHEET_NAMES, sniff
from mail.tables import Limits, Table, TableUnreadable, read_tables, tables_from_html
from mail.trust import Senders, Verdict, judge
from storage import inbox
from storage.contacts import DEFAULT_CONFIRM_DAYS, Change
from storage.engine import commit_without_waiting, session_scope
from storage.models import InboundMessage
from templates import label

log = logging.getLogger(__name__)

FUTURE_SKEW = timedelta(hours=1)
# the column that tells a summary or a list from a roster, which has every other column too
REQUIRED_COLUMNS: dict[str, str] = {
    "weekly_summary": "申请抵销量",
    "cancellation_list": "注销数量",
    "offset_operations": "状态",
}
# routed by their kind before the sender is judged: whoever sent them, they change no unit's state
EMITTER_KINDS: tuple[MessageKind, ...] = ("application", "status_query", "screenshot")


@dataclass(frozen=True)
class Read:
    """What was read of a message where it was read, and, for a table of data, the trusted sender's
    verdict judged there: an untrusted message is refused before anything it holds crosses back."""

    walked: Walked
    parsed: list[ParsedTable]
    verdict: Verdict | None = None  # None: an emitter's mail, a proposal or a question, never data


class Reading(Protocol):
    """A message being read: `result()` gives what was read, or raises what reading it raised."""

    def result(self) -> Read: ...


class Reader(Protocol):
    """Reads a message's bytes somewhere else (mail.sandbox.Sandbox: a worker process)."""

    def takes(self, messages: int, size: int) -> bool:
        """Whether it takes one more message beside `messages` others, `size` bytes in all: `submit`
        waits for the oldest when it does not."""

    def read(self, raw: bytes, config: IntakeConfig) -> Read: ...

    def submit(self, raw: bytes, config: IntakeConfig) -> Reading: ...


@dataclass(frozen=True)
class Told:
    """What a finished message makes known beyond its own state, for the notifier to tell."""

    automatic: bool  # an auto-reply or a bounce: answering it invites the next one
    claims: tuple[Claim, ...] = ()  # units two provinces claim
    contact_changes: tuple[Change, ...] = ()  # contact addresses a roster replaced
    applications: tuple[int, ...] = ()  # emitters' applications stored, for the officers to decide
    status_query: bool = False  # an emitter asked how it stands: answered only at its address on file
    screenshots: tuple[int, ...] = ()  # units that a stamped screenshot was filed against


class Notify(Protocol):
    """Writes what a message's senders and officers must hear, in the transaction that finishes it."""

    def __call__(self, session: Session, message: InboundMessage, told: Told, now: datetime) -> None: ...


@dataclass(frozen=True)
class IntakeConfig:
    senders: Senders
    tz: ZoneInfo
    limits: Limits = field(default_factory=Limits)
    max_attempts: int = inbox.MAX_ATTEMPTS
    earliest: datetime | None = None  # the cycle's start: a cancellation dated before it is a row error
    contact_wait: timedelta = timedelta(days=DEFAULT_CONFIRM_DAYS)  # a changed contact address waits
    sandbox: Reader | None = None  # reads untrusted bytes in a worker process; None: in this one
    notify: Notify | None = None  # None: nobody is told (benchmarks, tests of the state alone)
    # applications a day from an address that is no unit's contact on file (mail.applications.held_because)
    stranger_applications_per_day: int = STRANGER_APPLICATIONS_PER_DAY
    # [cycle_overrides]: corrections of values a cycle file marks uncertain ({"2025": {"dates.window_closes":
    # …}}); an application's checks read its cycle corrected, as the chat and the reminders do
    cycle_overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # the message being taken was handed in by an officer bound in chat: trusted by that binding, not by
    # its From line. Set per message by `take` and `process` (from the stored message), never configured;
    # it travels here because the config is what the reading worker receives with the bytes.
    handed_in: HandedIn | None = None


@dataclass
class Outcome:
    source: str
    message_pk: int | None
    message_id: str | None
    kind: str
    # applied | applied_with_row_errors | duplicate | superseded | quarantined; application: received | held
    outcome: str
    rows_applied: int = 0
    row_errors: list[RowError] = field(default_factory=list)
    reason: str | None = None
    sender: str | None = None
    province: str | None = None
    trusted: bool = False
    new_units: list[int] = field(default_factory=list)
    applications: list[int] = field(default_factory=list)  # an application mail: what it stored


class Refused(Exception):
    """The whole message is refused: it goes to quarantine with this reason."""

    def __init__(
        self,
        reason: str,
        kind: MessageKind = "unknown",
        province: str | None = None,
        automatic: bool | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.kind, self.province, self.automatic = reason, kind, province, automatic

    def __reduce__(self) -> tuple[type[Refused], tuple[str, MessageKind, str | None, bool | None]]:
        return Refused, (self.reason, self.kind, self.province, self.automatic)  # from the worker process


def take(
    engine: Engine,
    raw: bytes,
    source: str,
    config: IntakeConfig,
    now: datetime,
    *,
    handed_in: HandedIn | None = None,
) -> Outcome:
    """Store the bytes, then process them unless they were seen before.

    Only the headers are read before the bytes are stored (within the size limits): a message whose
    body cannot be read, or takes too long to, is kept and quarantined, never fetched again.
    `handed_in`: an officer bound in chat handed the message in (mail.handed_in); kept with it."""
    stored = _store(engine, raw, source, now, handed_in)
    if stored.started:
        config = replace(config, handed_in=handed_in)
        return process(engine, stored.message_pk, config, now, source, raw=raw, counted=True)
    return _seen_before(engine, _state_of(engine, stored.message_pk), config, now, source)


def _store(
    bind: Engine | Connection, raw: bytes, source: str, now: datetime, handed_in: HandedIn | None = None
) -> inbox.Stored:
    try:
        envelope: Headline | None = read_headline(raw)
    except MailUnreadable:
        envelope = None
    return inbox.store(
        bind,
        raw,
        source=source,
        message_id=envelope.message_id if envelope else None,
        sender=envelope.sender if envelope else None,
        subject=envelope.subject if envelope else "",
        sent_at=envelope.date if envelope else None,
        now=now,
        handed_in=handed_in.as_stored() if handed_in else None,
    )


def _seen_before(
    engine: Engine, message: InboundMessage, config: IntakeConfig, now: datetime, source: str
) -> Outcome:
    """A message stored before (the same bytes, or the same Message-ID): finished if a crash left it."""
    if message.state in ("received", "processing") and message.outcome is None:
        return process(engine, message.id or 0, config, now, source)
    reason = message.reason if message.outcome == "duplicate" else f"与第 {message.id} 号邮件内容相同"
    return Outcome(
        source,
        message.id,
        message.message_id,
        message.kind,
        "duplicate",
        reason=reason,
        sender=message.sender,
    )


@dataclass
class _InFlight:
    """A message stored and handed to the worker, to be applied once the next one is handed over."""

    message_pk: int
    source: str
    raw: bytes
    reading: Reading
    now: datetime


@dataclass(frozen=True)
class _Ahead:
    """A message stored before the worker sees it, with what storing it found."""

    raw: bytes
    source: str
    now: datetime
    stored: inbox.Stored


def take_all(
    engine: Engine,
    raws: Iterable[tuple[bytes, str]],
    config: IntakeConfig,
    now_fn: Callable[[], datetime],
) -> Iterator[Outcome]:
    """`take` for each (bytes, source) in turn, with the same states and outcomes, in order; with a
    worker process (config.sandbox) the next messages are stored and read there while this process
    applies the last one, so that the two cores work at once.

    Each message is stored (attempt counted) before the worker sees it, a few at once (`_stored_ahead`),
    and at most what the sandbox takes is in the worker: a crash leaves those, the one being applied and
    the ones stored with them unfinished, for `resume`. A message stored before is answered
    without reading, once the ones before it are done (it may repeat one of them)."""
    if config.sandbox is None:  # nothing to overlap: read in this process, as `take` does
        for raw, source in raws:
            yield take(engine, raw, source, config, now_fn())
        return
    flying: deque[_InFlight] = deque()
    for ahead in _stored_ahead(engine, raws, now_fn):
        if not ahead.stored.started:
            while flying:
                yield _land(engine, flying.popleft(), config)
            state = _state_of(engine, ahead.stored.message_pk)
            yield _seen_before(engine, state, config, ahead.now, ahead.source)
            continue
        # the worker holds the next ones while the oldest is applied: one more than it takes is here
        while flying and not config.sandbox.takes(len(flying) - 1, _held(flying, 1) + len(ahead.raw)):
            yield _land(engine, flying.popleft(), config)
        reading = config.sandbox.submit(ahead.raw, config)
        flying.append(_InFlight(ahead.stored.message_pk, ahead.source, ahead.raw, reading, ahead.now))
    while flying:
        yield _land(engine, flying.popleft(), config)


def _held(flying: deque[_InFlight], after: int) -> int:
    return sum(len(flying[n].raw) for n in range(after, len(flying)))


# Messages stored in one transaction before the worker reads them: on PostgreSQL each commit that stores
# waits for the disk, once for all of them; no more bytes than this wait in the service meanwhile.
STORE_AHEAD = 8
STORE_AHEAD_BYTES = 8 * 1024 * 1024


def _stored_ahead(
    engine: Engine, raws: Iterable[tuple[bytes, str]], now_fn: Callable[[], datetime]
) -> Iterator[_Ahead]:
    """Each message, stored, in order: the next few are stored together when the last are handed out."""
    batch: list[tuple[bytes, str, datetime]] = []
    size = 0
    for raw, source in raws:
        batch.append((raw, source, now_fn()))
        size += len(raw)
        if len(batch) >= STORE_AHEAD or size >= STORE_AHEAD_BYTES:
            yield from _store_together(engine, batch)
            batch, size = [], 0
    yield from _store_together(engine, batch)


def _store_together(engine: Engine, batch: list[tuple[bytes, str, datetime]]) -> list[_Ahead]:
    with engine.begin() as connection:
        return [_Ahead(raw, source, now, _store(connection, raw, source, now)) for raw, source, now in batch]


def _land(engine: Engine, flying: _InFlight, config: IntakeConfig) -> Outcome:
    return process(
        engine,
        flying.message_pk,
        config,
        flying.now,
        flying.source,
        raw=flying.raw,
        counted=True,
        reading=flying.reading,
    )


def _state_of(engine: Engine, message_pk: int) -> InboundMessage:
    """The message as it stands now: the one just applied may be the one these bytes repeat."""
    with session_scope(engine) as session:
        message = session.get(InboundMessage, message_pk, options=inbox.WITHOUT_RAW)
        assert message is not None
        return message


def resume(engine: Engine, config: IntakeConfig, now: datetime) -> list[Outcome]:
    """Finish what a crash left: messages stored or in progress."""
    return [process(engine, m.id or 0, config, now, m.source) for m in inbox.unfinished(engine)]


def process(
    engine: Engine,
    message_pk: int,
    config: IntakeConfig,
    now: datetime,
    source: str,
    *,
    raw: bytes | None = None,
    counted: bool = False,
    reading: Reading | None = None,
) -> Outcome:
    """Apply the message, counting each attempt before it starts; quarantine it when the attempts run out.

    `counted`: the first attempt was already counted when the message was stored (one commit less).
    `reading`: the first attempt's reading, already under way in the worker; a retry reads again.
    A caller that holds the bytes (take, take_all) says how the message came in; otherwise (a retry, a
    resumed message) the stored message does.
    """
    if raw is None:
        config = replace(config, handed_in=_handed_in(engine, message_pk))
    while True:
        read = None
        if config.sandbox is not None:
            # Read in the worker before the attempt is counted: the service killed while the worker reads
            # is not the message's doing (a restarted service would otherwise quarantine a message it was
            # killed three times on); a message the worker cannot read is refused by its limits instead.
            try:
                read = (
                    reading.result() if reading is not None else _read_stored(engine, message_pk, config, raw)
                )
            except Refused as unread:
                return _quarantine(engine, message_pk, source, unread, config, now)
            except WorkerStopped as stopped:  # stopped for another message before it read this one
                log.info("message %s: read again (%s)", message_pk, stopped)
            except Exception:  # the worker failed, not the message: read again below, counted
                log.exception("message %s: the reading worker failed", message_pk)
            reading = None  # under way in the worker for the first attempt only
        attempts = 1 if counted else inbox.begin_attempt(engine, message_pk)
        counted = False
        if attempts > config.max_attempts:
            spent = Refused(f"处理失败 {attempts - 1} 次，已隔离")
            return _quarantine(engine, message_pk, source, spent, config, now)
        try:
            return _apply_message(engine, message_pk, config, now, source, raw, read)
        except Refused as refused:
            return _quarantine(engine, message_pk, source, refused, config, now)
        except Exception as error:  # one poison message must never stop intake
            log.exception("message %s failed on attempt %s", message_pk, attempts)
            if attempts >= config.max_attempts:
                reason = f"处理出错 {attempts} 次，已隔离：{type(error).__name__}: {error}"[:400]
                return _quarantine(engine, message_pk, source, Refused(reason), config, now)


def _handed_in(engine: Engine, message_pk: int) -> HandedIn | None:
    with session_scope(engine) as session:
        message = session.get(InboundMessage, message_pk, options=inbox.WITHOUT_RAW)
        if message is None or not message.handed_in_by or not message.handed_in_for:
            return None
        return HandedIn(message.handed_in_by, message.handed_in_for)


def _read_stored(engine: Engine, message_pk: int, config: IntakeConfig, raw: bytes | None) -> Read:
    """Read the message with no transaction open meanwhile (the worker may take its whole time limit)."""
    if raw is None:
        with session_scope(engine) as session:
            raw = inbox.raw_of(session, message_pk)
    return read_message(raw, config)


def _quarantine(
    engine: Engine, message_pk: int, source: str, refused: Refused, config: IntakeConfig, now: datetime
) -> Outcome:
    with session_scope(engine) as session:
        commit_without_waiting(session)  # redone from the stored message, as an apply is
        message = inbox.quarantine(session, message_pk, refused.reason, refused.kind, refused.province)
        if config.notify is not None:
            automatic = refused.automatic
            told = Told(_automatic(message) if automatic is None else automatic)
            config.notify(session, message, told, now)
    return Outcome(
        source,
        message_pk,
        message.message_id,
        refused.kind,
        "quarantined",
        reason=refused.reason,
        sender=message.sender,
        trusted=message.trusted,
    )


def _apply_message(
    engine: Engine,
    message_pk: int,
    config: IntakeConfig,
    now: datetime,
    source: str,
    raw: bytes | None,
    read: Read | None = None,
) -> Outcome:
    with session_scope(engine) as session:
        # the raw bytes are loaded only when they are still to be read and the caller does not hold them
        read = read or read_message(raw if raw is not None else inbox.raw_of(session, message_pk), config)
        commit_without_waiting(session)  # the stored message is its source: `resume` redoes a lost one
        with collector.paused():  # what applying it makes lives until it is done
            if read.parsed[0].kind in EMITTER_KINDS:
                message = session.get(InboundMessage, message_pk, options=inbox.WITHOUT_RAW)
                assert message is not None
                return _apply_request(session, message, read, config, now)
            return _apply_data(session, message_pk, read, config, now, source)


def _automatic(message: InboundMessage) -> bool:
    """Whether a message refused before it was read is an auto-reply: its headers alone say."""
    try:
        return read_headline(message.raw).automatic
    except MailUnreadable:
        return False


def read_message(raw: bytes, config: IntakeConfig) -> Read:
    """Everything read from the untrusted bytes: in the worker process when there is one."""
    if config.sandbox is not None:
        return config.sandbox.read(raw, config)
    return read_here(raw, config)


def read_here(raw: bytes, config: IntakeConfig) -> Read:
    """Read and judge: an untrusted message is refused where it was read, so that nothing it holds (a
    table of thousands of rows) crosses back from the worker into the service."""
    try:
        walked = walk(raw)
    except MailUnreadable as error:
        raise Refused(f"邮件无法解析：{error.reason}") from error
    parsed = _parse_tables(walked, config)
    if parsed[0].kind in EMITTER_KINDS:  # an emitter's mail is a proposal or a question, never data
        return Read(walked, parsed)
    return Read(walked, parsed, judged(walked, parsed, config))


def judged(walked: Walked, parsed: list[ParsedTable], config: IntakeConfig) -> Verdict:
    """The trusted sender's verdict; Refused (quarantine, officers told) for anyone else."""
    kind, named, envelope = parsed[0].kind, _named_province(walked, parsed), walked.envelope
    automatic = envelope.automatic
    if config.handed_in is not None:  # the officer's binding vouches for it, not its From line
        handed = vouched(config.handed_in, kind, named)
        if not handed.trusted:
            raise Refused(handed.reason or "发件人不可信", kind, named, automatic)
        return handed
    if envelope.sender is None and envelope.sender_problem:
        raise Refused(f"无发件人：{envelope.sender_problem}", kind, named, automatic)
    verdict = judge(config.senders, envelope.sender, kind, named)
    if not verdict.trusted:  # its province's officers see it
        raise Refused(verdict.reason or "发件人不可信", kind, named, automatic)
    refusal = config.senders.auth.refusal(envelope.sender or "", envelope.auth_results)
    if refusal is not None:
        raise Refused(refusal, kind, named, automatic)
    return verdict


def _parse_tables(walked: Walked, config: IntakeConfig) -> list[ParsedTable]:
    tables = _tables(walked, config)
    if forms := _application_forms(walked, tables, config):
        return [ParsedTable("application", 0, records=list(forms))]
    said = kind_from_subject(walked.envelope.subject)
    hint = said or _kind_of_sender(walked, config)
    default = walked.envelope.date.date() if walked.envelope.date else None
    parsed = [parse_table(t.rows, kind_hint=hint, tz=config.tz, default_date=default) for t in tables]
    known = [p for p in parsed if p.kind != "unknown"]
    if not known and (asked := emitter_request(walked, config.senders)) is not None:
        return [ParsedTable(asked, 0)]
    if not known:
        raise Refused(no_table_reason(walked), hint or "unknown")
    first = known[0].kind
    if said is not None and said in REQUIRED_COLUMNS and first == "roster":  # it lost its key column
        raise Refused(f"主题表明这是{label('kind', said)}，但表格中没有{REQUIRED_COLUMNS[said]}列", said)
    return [p for p in known if p.kind == first]


# ---- an emitter's 申请表: routed by its kind, before the sender is judged -----------------------------


def _application_forms(walked: Walked, tables: list[Table], config: IntakeConfig) -> list[ApplicationForm]:
    files = [(a.filename, a.content_type, a.data) for a in walked.attachments]
    extra = form_tables(files, walked.text_body, config.limits.max_bytes)
    return read_forms([*tables, *extra], walked.envelope.subject)


def _take_applications(
    session: Session,
    message: InboundMessage,
    walked: Walked,
    parsed: list[ParsedTable],
    config: IntakeConfig,
    now: datetime,
) -> Outcome:
    """A proposal, whoever sent it: stored for an officer's decision, never applied to a unit. A stranger's
    beyond its daily share, or for a unit already waiting, is kept with the reason and not proposed."""
    forms = [r for p in parsed for r in p.records if isinstance(r, ApplicationForm)]
    sender, received = walked.envelope.sender, known_at(walked, now)
    message.kind, message.trusted, message.state = "application", False, "done"
    if config.handed_in is not None:  # an officer handed it in: no address to answer, no share to count
        sender = None
    else:
        held = held_because(session, sender, forms, received, now, config.stranger_applications_per_day)
        if held is not None:
            message.outcome, message.reason, message.province = "held", held.reason, held.province
            return Outcome(message.source, message.id, message.message_id, "application", "held",
                           reason=held.reason, sender=sender, province=held.province)  # fmt: skip
    ids = store_forms(session, message.id or 0, forms, sender, received, config.cycle_overrides)
    message.outcome, message.rows_applied = "received", len(ids)
    return Outcome(message.source, message.id, message.message_id, "application", "received", len(ids),
                   sender=sender, applications=ids)  # fmt: skip


def _take_request(
    session: Session,
    message: InboundMessage,
    walked: Walked,
    kind: MessageKind,
    config: IntakeConfig,
    now: datetime,
) -> Outcome:
    """An emitter's question or its screenshot: nothing is applied, nobody but the address on file hears."""
    filed = (
        file_screenshots(session, message.id or 0, walked, known_at(walked, now))
        if kind == "screenshot"
        else []
    )
    message.kind, message.trusted, message.state, message.outcome = kind, False, "done", "received"
    message.rows_applied = len(filed)
    if config.notify is not None:
        told = Told(walked.envelope.automatic, status_query=kind == "status_query", screenshots=tuple(filed))
        config.notify(session, message, told, now)
    return Outcome(message.source, message.id, message.message_id, kind, "received", len(filed),
                   sender=walked.envelope.sender)  # fmt: skip


def _kind_of_sender(walked: Walked, config: IntakeConfig) -> MessageKind | None:
    """The national registry sends only operation lists: its mail is read as one when the columns allow."""
    sender = (walked.envelope.sender or "").lower()
    return "offset_operations" if sender in config.senders.registry else None


def _claims_a_table(attachment: Attachment) -> bool:
    """A logo or a note beside the table is passed over; anything that is or says it is a table is read
    (what it says is asked first: looking into the bytes opens an archive)."""
    named = (attachment.filename or "").lower().endswith(SPREADSHEET_NAMES)
    typed = any(word in attachment.content_type for word in ("excel", "spreadsheet", "csv", "zip"))
    return named or typed or sniff(attachment.data, attachment.filename, attachment.content_type) != "unknown"


def _tables(walked: Walked, config: IntakeConfig) -> list[Table]:
    tables: list[Table] = []
    for attachment in filter(_claims_a_table, walked.attachments):
        try:
            tables += read_tables(
                attachment.data, attachment.filename, attachment.content_type, config.limits
            )
        except TableUnreadable as error:
            name = attachment.filename or attachment.content_type
            kind = kind_from_subject(walked.envelope.subject) or "unknown"
            raise Refused(f"附件 {name} 无法读取：{error.reason}", kind) from error
    for html in walked.html_bodies:
        try:
            tables += tables_from_html(html, config.limits)
        except TableUnreadable as error:
            raise Refused(
                f"邮件正文中的表格无法读取：{error.reason}",
                kind_from_subject(walked.envelope.subject) or "unknown",
            ) from error
    return tables


def _named_province(walked: Walked, parsed: list[ParsedTable]) -> str | None:
    return province_from_text(walked.envelope.subject) or next(
        (p.province_hint for p in parsed if p.province_hint), None
    )


def known_at(walked: Walked, now: datetime) -> datetime:
    """When the bot learned it: the message's date, unless that date is missing or in the future."""
    sent = walked.envelope.date
    return sent if sent is not None and sent <= now + FUTURE_SKEW else now


def _apply_request(
    session: Session, message: InboundMessage, read: Read, config: IntakeConfig, now: datetime
) -> Outcome:
    """An emitter's application, question or screenshot: never judged as data, never applied to a unit."""
    walked, parsed = read.walked, read.parsed
    kind = parsed[0].kind
    if kind == "application":  # a proposal from anyone, waiting for an officer
        taken = _take_applications(session, message, walked, parsed, config, now)
        if config.notify is not None:
            told = Told(walked.envelope.automatic, applications=tuple(taken.applications))
            config.notify(session, message, told, now)
        return taken
    return _take_request(session, message, walked, kind, config, now)  # answered at the address on file


def _apply_data(
    session: Session, message_pk: int, read: Read, config: IntakeConfig, now: datetime, source: str
) -> Outcome:
    """A trusted sender's table, applied; the message's row is written once, without being loaded (every
    message of a season passes here), and loaded only for the notifier."""
    walked, parsed = read.walked, read.parsed
    kind = parsed[0].kind
    verdict = read.verdict
    assert verdict is not None  # a table of data is judged where it is read, or refused there
    ctx = apply.Context(
        message_pk,
        known_at(walked, now),
        verdict.province,
        now,
        config.earliest,
        tuple(dict.fromkeys(o for p in parsed for o in p.header_obligations)),
        config.contact_wait,
    )
    records = [r for p in parsed for r in p.records]
    parse_errors = [e for p in parsed for e in p.row_errors]
    applied = _apply_kind(session, kind, records, ctx, parsed, walked, config)
    errors = sorted(parse_errors + applied.errors, key=lambda e: e.row)
    outcome = "superseded" if applied.superseded else ("applied_with_row_errors" if errors else "applied")
    province = verdict.province or _named_province(walked, parsed)
    row_errors = inbox.encode_row_errors([(e.row, e.reason) for e in errors])
    finished = inbox.Finished(kind, province, outcome, applied.rows, row_errors, applied.note)
    message_id = inbox.finish(session, message_pk, finished)
    if config.notify is not None:
        message = session.get(InboundMessage, message_pk, options=inbox.WITHOUT_RAW)
        assert message is not None
        told = Told(walked.envelope.automatic, tuple(applied.claims), tuple(applied.contact_changes))
        config.notify(session, message, told, now)
    return Outcome(
        source,
        message_pk,
        message_id,
        kind,
        outcome,
        applied.rows,
        errors,
        sender=walked.envelope.sender,
        province=province,
        trusted=True,
        new_units=applied.new_units,
    )


def _apply_kind(
    session: Session,
    kind: MessageKind,
    records: Sequence[Record],
    ctx: apply.Context,
    parsed: list[ParsedTable],
    walked: Walked,
    config: IntakeConfig,
) -> apply.Applied:
    if kind == "roster":
        return apply.apply_roster(session, records, ctx)  # type: ignore[arg-type]
    if kind == "weekly_summary":
        refused = [unit for p in parsed for unit in p.refused_units]
        errors = sum(len(p.row_errors) for p in parsed)
        as_of = _snapshot_date(parsed, walked, ctx)
        sent = (walked.envelope.date or ctx.known_at).astimezone(config.tz)
        if as_of > sent.date() + apply.REPORT_SKEW:  # a typo would supersede every later summary
            raise Refused(
                f"截至日期 {as_of:%Y-%m-%d} 晚于邮件日期 {sent:%Y-%m-%d}，请核对后重新发送",
                kind,
                ctx.province,
            )
        return apply.apply_weekly(session, records, ctx, as_of, refused, errors)  # type: ignore[arg-type]
    list_province = _named_province(walked, parsed) or config.senders.province_of_recipients(
        walked.envelope.to
    )
    if kind == "offset_operations":
        return operations.apply_operations(session, records, ctx, list_province)  # type: ignore[arg-type]
    return apply.apply_cancellations(session, records, ctx, list_province)  # type: ignore[arg-type]


def _snapshot_date(parsed: list[ParsedTable], walked: Walked, ctx: apply.Context) -> date:
    from_title = next((p.snapshot_date for p in parsed if p.snapshot_date), None)
    # the subject is read like a title row: "…汇总表（截至2021年11月5日）"
    return from_title or snapshot_date([[walked.envelope.subject]]) or ctx.known_at.date()
