from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib
import pytest

from tests.servers.smtp import SmtpServer


def _message(subject: str = "2024年度履约通知", to: str = "owner@example.cn") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "ccerbot@example.cn"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("请于月底前完成清缴。", charset="utf-8")
    return message


async def _send(server: SmtpServer, message: EmailMessage, **kwargs: object) -> tuple[dict[str, object], str]:
    errors, response = await aiosmtplib.send(
        message, hostname=server.host, port=server.port, timeout=10, **kwargs
    )
    return dict(errors), response


async def test_a_message_is_recorded_with_its_chinese_subject(smtp_server: SmtpServer) -> None:
    errors, _ = await _send(smtp_server, _message())

    received = smtp_server.wait_for(1)
    assert errors == {}
    assert received[0].mail_from == "ccerbot@example.cn"
    assert received[0].rcpt_tos == ("owner@example.cn",)
    assert received[0].subject == "2024年度履约通知"
    assert "清缴" in received[0].message.get_content()
    assert b"Subject:" in received[0].raw
    assert received[0].auth_login is None


async def test_auth_login_without_tls(smtp_server: SmtpServer) -> None:
    await _send(smtp_server, _message(), username="ccerbot", password="secret")

    assert smtp_server.messages[0].auth_login == "ccerbot"


async def test_a_wrong_password_is_refused(smtp_server: SmtpServer) -> None:
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await _send(smtp_server, _message(), username="ccerbot", password="wrong")

    assert smtp_server.messages == []


async def test_a_451_then_success_on_retry(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, code=451)

    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await _send(smtp_server, _message())
    await _send(smtp_server, _message())

    assert refused.value.code == 451
    assert len(smtp_server.messages) == 1
    assert [(r.stage, r.code) for r in smtp_server.refusals] == [("DATA", 451)]


async def test_a_temporary_rcpt_failure(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, code=452, message="4.2.2 Mailbox full", stage="RCPT")

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await _send(smtp_server, _message())
    await _send(smtp_server, _message())

    assert len(smtp_server.messages) == 1


async def test_a_refused_recipient_is_reported_per_recipient(smtp_server: SmtpServer) -> None:
    smtp_server.refuse_recipient("gone@example.cn")
    message = _message(to="owner@example.cn, gone@example.cn")

    errors, _ = await _send(smtp_server, message)

    assert list(errors) == ["gone@example.cn"]
    refusal = errors["gone@example.cn"]
    assert isinstance(refusal, aiosmtplib.SMTPResponse)
    assert refusal.code == 550
    assert smtp_server.messages[0].rcpt_tos == ("owner@example.cn",)


async def test_down_then_up_again(smtp_server: SmtpServer) -> None:
    smtp_server.go_down()

    with pytest.raises((aiosmtplib.SMTPConnectError, ConnectionRefusedError)):
        await _send(smtp_server, _message())

    smtp_server.come_up()
    await _send(smtp_server, _message())
    assert len(smtp_server.wait_for(1)) == 1


async def test_wait_for_async_sees_a_message_sent_concurrently(smtp_server: SmtpServer) -> None:
    sending = asyncio.create_task(_send(smtp_server, _message()))

    received = await smtp_server.wait_for_async(1)
    await sending

    assert received[0].subject == "2024年度履约通知"


def test_wait_for_times_out_when_nothing_arrives(smtp_server: SmtpServer) -> None:
    with pytest.raises(TimeoutError):
        smtp_server.wait_for(1, timeout=0.1)
