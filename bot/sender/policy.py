"""One retry policy for every channel: what a failed delivery means, and when to try again.

Each error class also inherits the built-in exception that says what happened (ConnectionError,
TimeoutError, PermissionError, ValueError), as aiosmtplib's errors do: a library written that way needs no
translation (its disconnects and timeouts are retried as they are), and a channel adapter maps the errors
of any other library (python-telegram-bot) onto these classes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Action = Literal["retry", "fail", "plain"]


class DeliveryError(Exception):
    """A message that did not go out."""


class TemporaryError(DeliveryError, ConnectionError):
    """Worth another try later: the server is down, overloaded or asks us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TemporaryError):
    """The server said how long to wait (Telegram's 429 with retry_after)."""


class DeliveryTimeout(TemporaryError, TimeoutError):
    """No answer in time; the message may have been delivered all the same."""


class PermanentError(DeliveryError):
    """Trying again cannot help: a refused address, a chat that is gone, a request the server rejects."""


class RecipientBlocked(PermanentError, PermissionError):
    """The person blocked the bot or left the chat."""


class FormatError(DeliveryError, ValueError):
    """The server could not parse the formatting: send the same text without it."""


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    retry_after: float | None = None


def classify(error: BaseException) -> Decision:
    """The one place that says what a failure means."""
    reason = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, FormatError):
        return Decision("plain", reason)
    if isinstance(error, PermanentError):
        return Decision("fail", reason)
    if isinstance(error, TemporaryError):
        return Decision("retry", reason, error.retry_after)
    code = getattr(error, "code", None)  # SMTP replies: 4xx is transient, 5xx is final
    if isinstance(code, int) and 500 <= code < 600:
        return Decision("fail", reason)
    # Disconnects, timeouts, 4xx replies and anything unforeseen: retried until the attempts run out,
    # so an unknown error is reported to officers in the end rather than dropped.
    return Decision("retry", reason)


@dataclass(frozen=True)
class BackOff:
    """Exponential back-off with jitter; a server's own retry_after is honoured as given."""

    base_s: float = 5.0
    factor: float = 2.0
    cap_s: float = 600.0
    jitter: float = 0.2

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        step = min(self.cap_s, self.base_s * self.factor ** max(0, attempt - 1))
        # spread the retries of a batch that failed together, so they do not come back together
        return step * (1 + self.jitter * random.random())
