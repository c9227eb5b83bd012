"""One policy for every library's failures: retry, fail for good, or resend as plain text."""

from __future__ import annotations

import pytest
from aiosmtplib import (
    SMTPConnectError,
    SMTPDataError,
    SMTPReadTimeoutError,
    SMTPRecipientRefused,
    SMTPServerDisconnected,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sender.policy import BackOff, DeliveryTimeout, RateLimited, RecipientBlocked, classify
from bot.sender.telegram import plain_text, translate


@pytest.mark.parametrize(
    "error",
    [
        SMTPServerDisconnected("gone"),
        SMTPConnectError("refused"),
        SMTPReadTimeoutError("slow"),
        SMTPDataError(451, "4.3.0 try later"),
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
        RuntimeError("something unforeseen"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_library_errors_that_may_pass_are_retried_untranslated(error: BaseException) -> None:
    assert classify(error).action == "retry"


@pytest.mark.parametrize(
    "error", [SMTPRecipientRefused(550, "5.1.1 no such user", "x@y.cn"), SMTPDataError(554, "spam")]
)
def test_smtp_5xx_is_final(error: BaseException) -> None:
    assert classify(error).action == "fail"


def test_telegram_flood_control_is_retried_after_the_time_it_names() -> None:
    mapped = translate(RetryAfter(7))
    assert isinstance(mapped, RateLimited)
    assert classify(mapped).action == "retry"
    assert classify(mapped).retry_after == 7.0


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (NetworkError("Internal Server Error (500)"), "retry"),
        (NetworkError("Bad Gateway"), "retry"),
        (TimedOut("read timeout"), "retry"),
        (Forbidden("Forbidden: bot was blocked by the user"), "fail"),
        (BadRequest("Bad Request: chat not found"), "fail"),
        (BadRequest("Bad Request: can't parse entities: unclosed tag"), "plain"),
        (ChatMigrated(-100123), "fail"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_telegram_errors_map_onto_the_policy(error: Exception, action: str) -> None:
    assert classify(translate(error)).action == action  # type: ignore[arg-type]


def test_translated_errors_are_also_the_builtin_kind_of_failure() -> None:
    assert isinstance(translate(TimedOut()), TimeoutError)
    assert isinstance(translate(TimedOut()), DeliveryTimeout)
    assert isinstance(translate(NetworkError("Bad Gateway")), ConnectionError)
    assert isinstance(translate(Forbidden("blocked")), RecipientBlocked)
    assert isinstance(translate(Forbidden("blocked")), PermissionError)


def test_back_off_grows_to_its_cap_and_honours_retry_after() -> None:
    backoff = BackOff(base_s=5, factor=2, cap_s=60, jitter=0)
    assert [backoff.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff.delay(1, retry_after=17) == 17


def test_jitter_only_lengthens_the_wait() -> None:
    backoff = BackOff(base_s=10, factor=2, cap_s=100, jitter=0.5)
    assert all(10 <= backoff.delay(1) <= 15 for _ in range(50))


def test_plain_text_drops_telegram_tags_and_keeps_everything_else() -> None:
    assert (
        plain_text("<b>【提醒】A&amp;B</b> 联系 张三 <zhang@example.cn>")
        == "【提醒】A&B 联系 张三 <zhang@example.cn>"
    )
