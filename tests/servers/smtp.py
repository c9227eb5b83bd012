"""A real SMTP server (aiosmtpd) on loopback that records what it accepts and refuses on request."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers import free_port

HOST = "127.0.0.1"
Stage = Literal["MAIL", "RCPT", "DATA"]


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    auth_login: str | None
    received_at: float

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))


@dataclass(frozen=True)
class Refusal:
    stage: Stage
    code: int
    message: str
    address: str | None


@dataclass
class _Fault:
    stage: Stage
    code: int
    message: str
    remaining: int


@dataclass
class _State:
    lock: threading.Condition = field(default_factory=threading.Condition)
    messages: list[ReceivedMessage] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    refused_recipients: dict[str, tuple[int, str]] = field(default_factory=dict)

    def take_fault(self, stage: Stage) -> _Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.stage == stage and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
            return None

    def refuse(self, refusal: Refusal) -> str:
        with self.lock:
            self.refusals.append(refusal)
        return f"{refusal.code} {refusal.message}"


class _Handler:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        fault = self._state.take_fault("MAIL")
        if fault is not None:
            return self._state.refuse(Refusal("MAIL", fault.code, fault.message, address))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self._state.lock:
            refused = self._state.refused_recipients.get(address.lower())
        if refused is not None:
            return self._state.refuse(Refusal("RCPT", refused[0], refused[1], address))
        fault = self._state.take_fault("RCPT")
        if fault is not None:
            return self._state.refuse(Refusal("RCPT", fault.code, fault.message, address))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._state.take_fault("DATA")
        if fault is not None:
            return self._state.refuse(Refusal("DATA", fault.code, fault.message, None))
        raw = envelope.original_content or b""
        login = session.login_data.decode() if isinstance(session.login_data, bytes) else None
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=_parse(raw),
            auth_login=login,
            received_at=time.time(),
        )
        with self._state.lock:
            self._state.messages.append(received)
            self._state.lock.notify_all()
        return "250 Message accepted for delivery"


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self._login = user.encode()
        self._password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self._login,
            self._password,
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpServer:
    """An SMTP server in its own thread; every accepted message is kept in `messages`."""

    def __init__(self, user: str = "ccerbot", password: str = "secret", auth_required: bool = False) -> None:
        self.user = user
        self.password = password
        self.auth_required = auth_required
        self._port = free_port()
        self._state = _State()
        self._controller: Controller | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def is_up(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(
            _Handler(self._state),
            hostname=HOST,
            port=self._port,
            server_hostname="smtp.test",
            auth_require_tls=False,
            auth_required=self.auth_required,
            authenticator=_Authenticator(self.user, self.password),
            decode_data=False,
        )
        with warnings.catch_warnings():
            # AUTH without TLS is the point here: the server only ever listens on loopback.
            warnings.simplefilter("ignore", UserWarning)
            controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def go_down(self) -> None:
        """Stops listening: new connections are refused until come_up()."""
        self.stop()

    def come_up(self) -> None:
        """Listens again on the same port."""
        self.start()

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- recording -----------------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._state.lock:
            return list(self._state.messages)

    @property
    def refusals(self) -> list[Refusal]:
        """Every MAIL/RCPT/DATA this server refused, in order."""
        with self._state.lock:
            return list(self._state.refusals)

    def clear(self) -> None:
        with self._state.lock:
            self._state.messages.clear()
            self._state.refusals.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Blocks until at least `count` messages were accepted; do not call it from the loop under test."""
        with self._state.lock:
            if not self._state.lock.wait_for(lambda: len(self._state.messages) >= count, timeout):
                raise TimeoutError(f"{len(self._state.messages)} of {count} messages after {timeout}s")
            return list(self._state.messages)

    async def wait_for_async(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """As wait_for(), without blocking the calling event loop."""
        return await asyncio.to_thread(self.wait_for, count, timeout)

    # --- fault injection -----------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        code: int = 451,
        message: str = "4.3.0 Temporary failure, try again later",
        stage: Stage = "DATA",
    ) -> None:
        """The next `n` commands of `stage` (MAIL, RCPT or DATA) are answered with `code`."""
        with self._state.lock:
            self._state.faults.append(_Fault(stage, code, message, n))

    def refuse_recipient(
        self, address: str, code: int = 550, message: str = "5.1.1 Mailbox unavailable"
    ) -> None:
        with self._state.lock:
            self._state.refused_recipients[address.lower()] = (code, message)

    def accept_recipient(self, address: str) -> None:
        with self._state.lock:
            self._state.refused_recipients.pop(address.lower(), None)
