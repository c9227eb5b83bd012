"""A From line proves nothing: it is read strictly, and with `[senders] authserv_id` set only the
receiving server's Authentication-Results make a configured sender's message count."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine

from mail import intake
from mail.authn import SenderAuth, aligned, strict_mailbox
from tests.intake.world import CONFIG, LATER, SD, SD_UNITS, roster_mail, take

AUTH = SenderAuth.build("mx.example", ["gdee.guangdong.example"])
AUTHENTICATING = replace(CONFIG, senders=replace(CONFIG.senders, auth=AUTH))


@pytest.mark.parametrize(
    ("from_line", "reason"),
    [
        (f"{SD} <attacker@evil.example>", "From 中有 2 个地址"),
        (f'"{SD}" <attacker>', "From 的地址 attacker 没有域名"),
        (f'"x" <{SD}@evil.example>', "From 无法解析"),
        (f"{SD}, attacker@evil.example", "From 中有 2 个地址"),
        ("@" * 20_000, "From 超过 2000 个字符"),  # refused before it is parsed: parsing it cost 0.25 s
    ],
    ids=["name-is-an-address", "address-without-domain", "two-at-signs", "two-mailboxes", "overlong"],
)
def test_a_forged_from_line_is_quarantined_with_the_reason(
    sqlite_engine: Engine, from_line: str, reason: str
) -> None:
    outcome = take(sqlite_engine, roster_mail(from_line, SD_UNITS))
    assert outcome.outcome == "quarantined" and reason in (outcome.reason or ""), outcome.reason
    assert not outcome.trusted


def test_two_from_headers_are_refused() -> None:
    assert strict_mailbox([SD, "attacker@evil.example"]).problem == "有 2 个 From 头"
    assert strict_mailbox([]).problem == "没有 From 头"
    assert strict_mailbox([f"山东 <{SD.upper()}>"]).address == SD


def _results(value: str) -> bytes:
    return f"Authentication-Results: {value}\r\n".encode() + roster_mail(SD, SD_UNITS)


@pytest.mark.parametrize(
    ("header", "applied"),
    [
        ("mx.example; dmarc=pass header.from=sthj.shandong.example", True),
        ("mx.example; dkim=pass header.d=sthj.shandong.example; dmarc=none", True),
        ("mx.example; dkim=pass header.d=shandong.example", True),  # relaxed alignment
        ("mx.example; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example", False),
        ("mx.example; dmarc=fail header.from=sthj.shandong.example", False),
        ("mx.example; spf=pass smtp.mailfrom=sthj.shandong.example", False),
        ("mx.evil.example; dmarc=pass header.from=sthj.shandong.example", False),  # another server
        ("mx.example; dmarc=pass header.from=evil.example", False),
        (None, False),
    ],
)
def test_only_the_configured_server_s_results_authenticate(
    sqlite_engine: Engine, header: str | None, applied: bool
) -> None:
    raw = _results(header) if header else roster_mail(SD, SD_UNITS)
    outcome = intake.take(sqlite_engine, raw, "mail.eml", AUTHENTICATING, LATER)
    assert (outcome.outcome == "applied") == applied, outcome.reason
    if not applied:
        assert "发件人未通过身份验证" in (outcome.reason or "")


def test_a_domain_named_as_unable_to_pass_is_taken_on_its_from_line(sqlite_engine: Engine) -> None:
    from tests.intake.world import GD, GD_UNITS

    assert (
        intake.take(sqlite_engine, roster_mail(GD, GD_UNITS), "m.eml", AUTHENTICATING, LATER).outcome
        == "applied"
    )


def test_without_authserv_id_the_from_line_is_believed(sqlite_engine: Engine) -> None:
    assert take(sqlite_engine, roster_mail(SD, SD_UNITS)).outcome == "applied"


def test_alignment() -> None:
    assert aligned("shandong.example", "sthj.shandong.example")
    assert aligned("mail.sthj.shandong.example", "sthj.shandong.example")
    assert not aligned("example", "sthj.shandong.example")
    assert not aligned("evilshandong.example", "shandong.example")
