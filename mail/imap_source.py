"""Intake from an IMAP folder: UID-based, IDLE when offered, polling otherwise, reconnecting for ever.

For each new message: fetch without setting \\Seen, ingest (stored and committed), write the receipt,
then move the message to the processed or quarantine folder and advance the cursor. A crash anywhere
in between leaves the message in the folder above the cursor; taking it again is harmless, because the
content hash makes it a duplicate of the row already stored and receipts are keyed by that row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from imap_tools import BaseMailBox
from sqlalchemy.engine import Engine

from mail import imap_cursor, imap_session
from mail.imap_session import CONNECTION_ERRORS, Endpoint, FolderState
from mail.intake import IntakeConfig, Outcome, take
from mail.loopback import LOOPBACK

log = logging.getLogger(__name__)

NowFn = Callable[[], datetime]
OnOutcome = Callable[[Outcome], None]
# How often a waiting intake looks at `stop`: the longest a shutdown waits for it.
STOP_CHECK_S = 0.5


class Secret(Protocol):
    def get_secret_value(self) -> str: ...


class ImapSection(Protocol):
    """The [imap] section as the configuration reads it (bot/config.py's ImapConfig), read-only."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def security(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> Secret | None: ...
    @property
    def folder(self) -> str: ...
    @property
    def processed_folder(self) -> str: ...
    @property
    def quarantine_folder(self) -> str: ...
    @property
    def poll_interval_s(self) -> float: ...
    @property
    def idle_timeout_s(self) -> float: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def since(self) -> date | None: ...
    @property
    def id(self) -> Mapping[str, str]: ...


@dataclass
class ImapSettings:
    host: str
    port: int
    security: str  # ssl | starttls | none (loopback only)
    user: str
    password: str
    folder: str = "INBOX"
    processed: str = "Processed"
    quarantine: str = "Quarantine"
    poll_interval_s: float = 60.0
    idle_timeout_s: float = 300.0  # RFC 2177: renew IDLE well within 29 minutes
    idle: bool = True  # False: poll even when the server offers IDLE (some servers' IDLE is unreliable)
    since: date | None = None  # a mailbox seen for the first time: take mail from this day on
    timeout_s: float = 30.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 300.0
    client_id: tuple[tuple[str, str], ...] = ()  # RFC 2971 ID fields, sent when the server offers ID

    @classmethod
    def from_section(cls, section: ImapSection) -> ImapSettings:
        """The settings of the configuration's [imap] section: the one place its names become ours."""
        return cls(
            host=section.host,
            port=section.port,
            security=section.security,
            user=section.user,
            password=section.password.get_secret_value() if section.password else "",
            folder=section.folder,
            processed=section.processed_folder,
            quarantine=section.quarantine_folder,
            poll_interval_s=section.poll_interval_s,
            idle_timeout_s=section.idle_timeout_s,
            timeout_s=section.timeout_s,
            since=section.since,
            client_id=tuple(section.id.items()),
        )

    def __post_init__(self) -> None:
        if self.security not in ("ssl", "starttls", "none"):
            raise ValueError(f"IMAP security must be ssl, starttls or none, not {self.security!r}")
        if self.security == "none" and self.host not in LOOPBACK:
            raise ValueError(f"IMAP without TLS is only allowed on loopback, not {self.host}")

    @property
    def mailbox_key(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}"

    def endpoint(self) -> Endpoint:
        return Endpoint(
            self.host, self.port, self.security, self.user, self.password, self.timeout_s, self.client_id
        )


class ImapIntake:
    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.reconnects = 0
        self.waiting = asyncio.Event()  # set while the connection waits for mail, in IDLE or between polls
        self._healthy = False

    # --- one pass --------------------------------------------------------------------------------

    def run_once(self, engine: Engine, intake_config: IntakeConfig, now_fn: NowFn) -> list[Outcome]:
        """Connect, take every new message, log out."""
        box = self._open()
        try:
            state, uids = self._pending(box, engine, now_fn)
            outcomes = [self._take(box, engine, intake_config, now_fn, state, uid) for uid in uids]
            return [o for o in outcomes if o is not None]
        finally:
            imap_session.close(box)

    # --- the service -----------------------------------------------------------------------------

    async def run(
        self,
        engine: Engine,
        intake_config: IntakeConfig,
        stop: asyncio.Event,
        now_fn: NowFn,
        on_outcome: OnOutcome | None = None,
        caught_up: asyncio.Event | None = None,
    ) -> None:
        """Take mail until `stop`. `caught_up` is set once the mail waiting at start has been taken in,
        or the first attempt to reach it failed (the schedule does not wait for a server that is down)."""
        delay = self.settings.reconnect_initial_s
        caught_up = caught_up or asyncio.Event()
        while not stop.is_set():
            self._healthy = False
            try:
                await self._session(engine, intake_config, stop, now_fn, on_outcome, caught_up)
                return
            except CONNECTION_ERRORS as error:
                log.warning(
                    "IMAP %s: connection lost (%s: %s); reconnecting in %.1f s",
                    self.settings.mailbox_key,
                    type(error).__name__,
                    error,
                    delay,
                )
            except Exception:  # a database outage or a bug must not end intake: retry, loudly
                log.exception(
                    "IMAP %s: intake failed; reconnecting in %.1f s", self.settings.mailbox_key, delay
                )
            caught_up.set()
            self.waiting.clear()
            self.reconnects += 1
            if self._healthy:  # it worked for a while: the back-off starts over
                delay = self.settings.reconnect_initial_s
            if await _stopped_within(stop, delay):
                return
            delay = min(delay * 2, self.settings.reconnect_max_s)

    async def _session(
        self,
        engine: Engine,
        intake_config: IntakeConfig,
        stop: asyncio.Event,
        now_fn: NowFn,
        on_outcome: OnOutcome | None,
        caught_up: asyncio.Event,
    ) -> None:
        box = await asyncio.to_thread(self._open)
        log.info(
            "IMAP %s: connected (%s)",
            self.settings.mailbox_key,
            "IDLE" if self._idles(box) else "polling",
        )
        try:
            while not stop.is_set():
                await self._take_all(box, engine, intake_config, stop, now_fn, on_outcome)
                caught_up.set()
                self._healthy = True
                if not stop.is_set():
                    await self._wait_for_mail(box, stop)
        finally:
            self.waiting.clear()
            await asyncio.to_thread(imap_session.close, box)

    async def _take_all(
        self,
        box: BaseMailBox,
        engine: Engine,
        intake_config: IntakeConfig,
        stop: asyncio.Event,
        now_fn: NowFn,
        on_outcome: OnOutcome | None,
    ) -> None:
        state, uids = await asyncio.to_thread(self._pending, box, engine, now_fn)
        for uid in uids:
            if stop.is_set():
                return
            outcome = await asyncio.to_thread(self._take, box, engine, intake_config, now_fn, state, uid)
            if outcome is not None and on_outcome is not None:
                _tell(on_outcome, outcome)

    async def _wait_for_mail(self, box: BaseMailBox, stop: asyncio.Event) -> None:
        if not self._idles(box):
            self.waiting.set()
            await _stopped_within(stop, self.settings.poll_interval_s)
            self.waiting.clear()
            return
        await asyncio.to_thread(imap_session.idle_start, box)
        self.waiting.set()
        try:
            await self._idle(box, stop)
        finally:
            self.waiting.clear()
        # Ends IDLE and reads what the server said; a server that went away raises here.
        await asyncio.to_thread(imap_session.idle_stop, box)

    async def _idle(self, box: BaseMailBox, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + self.settings.idle_timeout_s
        while not stop.is_set():
            left = until - loop.time()
            if left <= 0:
                return
            if await asyncio.to_thread(imap_session.server_spoke, box, min(left, STOP_CHECK_S)):
                return

    def _idles(self, box: BaseMailBox) -> bool:
        return self.settings.idle and imap_session.has(box, "IDLE")

    # --- blocking steps (run in a worker thread) -----------------------------------------------

    def _open(self) -> BaseMailBox:
        box = imap_session.connect(self.settings.endpoint())
        try:
            for folder in (self.settings.processed, self.settings.quarantine):
                imap_session.ensure_folder(box, folder)
        except BaseException:
            imap_session.close(box)
            raise
        return box

    def _pending(self, box: BaseMailBox, engine: Engine, now_fn: NowFn) -> tuple[FolderState, list[int]]:
        state = imap_session.select(box, self.settings.folder)
        key = self.settings.mailbox_key
        position = imap_cursor.load(engine, key)
        if position is None:
            start = 0 if self.settings.since else state.uidnext - 1
            log.info("IMAP %s: first look, starting after UID %s", key, start)
            position = imap_cursor.reset(engine, key, state.uidvalidity, start)
        elif position.uidvalidity != state.uidvalidity:
            log.warning(
                "IMAP %s: UIDVALIDITY changed from %s to %s, reading the folder again",
                key,
                position.uidvalidity,
                state.uidvalidity,
            )
            position = imap_cursor.reset(engine, key, state.uidvalidity, 0)
        return state, imap_session.uids_after(box, position.last_uid, self.settings.since)

    def _take(
        self,
        box: BaseMailBox,
        engine: Engine,
        intake_config: IntakeConfig,
        now_fn: NowFn,
        state: FolderState,
        uid: int,
    ) -> Outcome | None:
        key = self.settings.mailbox_key
        raw = imap_session.fetch_raw(box, uid)
        if raw is None:  # expunged by someone else since the search
            imap_cursor.advance(engine, key, state.uidvalidity, uid, None)
            return None
        now = now_fn()
        outcome = take(engine, raw, f"imap://{key};uid={uid}", intake_config, now)
        self._file(box, uid, outcome)
        imap_cursor.advance(engine, key, state.uidvalidity, uid, now)
        return outcome

    def _file(self, box: BaseMailBox, uid: int, outcome: Outcome) -> None:
        if outcome.outcome == "quarantined":
            # left unread, so that whoever opens the quarantine folder sees it as new
            imap_session.move(box, uid, self.settings.quarantine)
            return
        imap_session.mark_seen(box, uid)
        imap_session.move(box, uid, self.settings.processed)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def _tell(on_outcome: OnOutcome, outcome: Outcome) -> None:
    try:
        on_outcome(outcome)
    except Exception:  # a listener's failure is its own; the mail is already taken
        log.exception("on_outcome failed for message %s", outcome.message_pk)
