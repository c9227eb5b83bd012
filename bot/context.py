"""What every command needs: settings, an upgraded database, the cycle, and the instant to look at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot.config import Settings, load_settings
from bot.notices.message import MessageNotices
from bot.telling import Telling
from compliance.cycle import Cycle, current_cycle, load_cycle, with_overrides
from mail.intake import IntakeConfig
from mail.sandbox import MiB, Sandbox
from storage.engine import DatabaseError, make_engine
from storage.migrate import ensure_current


class UsageError(Telling, ValueError):
    """A bad argument, said in one line."""


class UnusableDatabase(Telling, DatabaseError):
    """The database cannot be reached or used, said in one line."""


@dataclass
class AppContext:
    settings: Settings
    replay_at: datetime | None = None  # the --at instant of this command, once read
    # the service reads every message in the worker process, files handed in from a chat too; the one-shot
    # commands and the demo's console read them in place
    reads_in_worker: bool = False
    _cycles: dict[str, Cycle] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, config: str | None, database_url: str | None) -> AppContext:
        return cls(load_settings(config, database_url))

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def cycle(self) -> Cycle:
        """The configured cycle, else the one whose deadline comes next at the instant looked at (--at, or
        now): replaying a morning of a past cycle follows that cycle. Corrected as configured."""
        name = self.settings.cycle or current_cycle(self.replay_at or self.now()).name
        return self._cycle_named(name)

    def _cycle_named(self, name: str) -> Cycle:
        cached = self._cycles.get(name)
        if cached is None:
            try:
                cached = with_overrides(load_cycle(name), self.settings.cycle_overrides.get(name, {}))
            except ValueError as error:
                raise UsageError(str(error)) from None
            self._cycles[name] = cached
        return cached

    @property
    def cycle_chosen(self) -> str:
        """How the cycle was chosen, for start-up messages."""
        return "configured" if self.settings.cycle else "current"

    @cached_property
    def engine(self) -> Engine:
        """The database, upgraded to the newest schema on first use."""
        engine = self.open_engine()
        try:
            ensure_current(engine)
        except OperationalError as error:
            url = engine.url.render_as_string()
            raise UnusableDatabase(key="database", url=url, error=error.orig) from None
        return engine

    def open_engine(self) -> Engine:
        """The database as configured; only the default SQLite file's folder (`var/`) is made when missing."""
        url = self.settings.database_url
        return make_engine(url, create_directory=url == Settings.model_fields["database_url"].default)

    @cached_property
    def sandbox(self) -> Sandbox:
        """One worker process for the service's intake, started with the first message it reads."""
        return Sandbox(memory_bytes=self.settings.read_memory_mb * MiB, wall_s=self.settings.read_timeout_s)

    @cached_property
    def notices(self) -> MessageNotices:
        """Intake's notifier, one for the context: it keeps what it builds from the settings."""
        return MessageNotices(self.settings)

    def intake_config(self, *, sandboxed: bool = False) -> IntakeConfig:
        """sandboxed: untrusted bytes are read in the worker process (the service, where chat, scheduler
        and sender share the process with intake); the one-shot commands read them in place."""
        return IntakeConfig(
            senders=self.settings.trusted_senders(),
            tz=self.tz,
            earliest=self.cycle.window_opens,
            contact_wait=timedelta(days=self.settings.contact_confirm_days),
            sandbox=self.sandbox if sandboxed else None,
            notify=self.notices,
            stranger_applications_per_day=self.settings.applications.stranger_daily_limit,
            cycle_overrides=self.settings.cycle_overrides,
        )

    def close_sandbox(self) -> None:
        if "sandbox" in self.__dict__:
            self.sandbox.close()

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def instant(self, text: str | None) -> datetime:
        """--at: an ISO instant or date; a naive one is local time."""
        if not text:
            return self.now()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(key="bad_at", text=text) from None
        self.replay_at = parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)
        return self.replay_at
