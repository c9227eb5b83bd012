"""What every command needs: settings, an upgraded database, the cycle, and the instant to look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot.config import Settings, load_settings
from compliance.cycle import Cycle, load_cycle
from mail.intake import IntakeConfig
from mail.sandbox import MiB, Sandbox
from storage.engine import DatabaseError, make_engine
from storage.migrate import ensure_current


class UsageError(ValueError):
    """A bad argument, said in one line."""


@dataclass
class AppContext:
    settings: Settings

    @classmethod
    def load(cls, config: str | None, database_url: str | None) -> AppContext:
        return cls(load_settings(config, database_url))

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @cached_property
    def cycle(self) -> Cycle:
        try:
            return load_cycle(self.settings.cycle)
        except ValueError as error:
            raise UsageError(str(error)) from None

    @cached_property
    def engine(self) -> Engine:
        """The database, upgraded to the newest schema on first use."""
        engine = make_engine(self.settings.database_url)
        try:
            ensure_current(engine)
        except OperationalError as error:
            raise DatabaseError(f"无法使用数据库 {engine.url.render_as_string()}：{error.orig}") from None
        return engine

    @cached_property
    def sandbox(self) -> Sandbox:
        """One worker process for the service's intake, started with the first message it reads."""
        return Sandbox(memory_bytes=self.settings.read_memory_mb * MiB, wall_s=self.settings.read_timeout_s)

    def intake_config(self, *, sandboxed: bool = False) -> IntakeConfig:
        """sandboxed: untrusted bytes are read in the worker process (the service, where chat, scheduler
        and sender share the process with intake); the one-shot commands read them in place."""
        return IntakeConfig(
            senders=self.settings.trusted_senders(),
            tz=self.tz,
            earliest=self.cycle.window_opens,
            contact_wait=timedelta(days=self.settings.contact_confirm_days),
            sandbox=self.sandbox if sandboxed else None,
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
            raise UsageError(f"--at 需要 ISO 时间，例如 2021-12-15T09:00，而不是 {text!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)
