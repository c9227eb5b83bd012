"""The sender against a loopback SMTP server: UTF-8 mail, refusals final, 4xx and outages retried."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from bot.config import SmtpConfig
from bot.sender.email import EmailChannel, message_id
from storage import outbox
from tests.reminders.helpers import enqueue, item, sender, settle
from tests.servers.smtp import SmtpServer

SENDER = "ccerbot@example.cn"


def channel(server: SmtpServer, **values: object) -> EmailChannel:
    config = SmtpConfig(host=server.host, port=server.port, security="none", sender=SENDER, **values)  # type: ignore[arg-type]
    return EmailChannel(config)


def mail(key: str, to: str, body: str = "请注销经确认的 CCER。") -> outbox.NewItem:
    return item(key, to, body, channel="email", subject="【CCER 履约提醒】请在注销截止前注销经确认的 CCER")


async def test_a_reminder_goes_out_as_utf8_mail_with_a_stable_message_id(
    sqlite_engine: Engine, smtp_server: SmtpServer
) -> None:
    enqueue(sqlite_engine, [mail("k1", "unit@example.cn")])
    assert await settle(sender(sqlite_engine, {"email": channel(smtp_server)}), ["k1"]) == {"k1": "sent"}
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("unit@example.cn",)
    assert received.subject == "【CCER 履约提醒】请在注销截止前注销经确认的 CCER"
    assert received.message.get_content_charset() == "utf-8"
    assert received.message.get_content().strip() == "请注销经确认的 CCER。"
    assert received.message["Message-ID"] == message_id("k1", SENDER)
    assert received.message["Auto-Submitted"] == "auto-generated"


async def test_authentication_is_used_when_a_password_is_configured(
    sqlite_engine: Engine, smtp_server: SmtpServer
) -> None:
    enqueue(sqlite_engine, [mail("k1", "unit@example.cn")])
    secure = channel(smtp_server, user=smtp_server.user, password=smtp_server.password)
    assert await settle(sender(sqlite_engine, {"email": secure}), ["k1"]) == {"k1": "sent"}
    assert [m.auth_login for m in smtp_server.messages] == [smtp_server.user]


async def test_a_refused_recipient_fails_for_good(sqlite_engine: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.refuse_recipient("gone@example.cn")
    enqueue(sqlite_engine, [mail("k1", "gone@example.cn"), mail("k2", "unit@example.cn")])
    result = await settle(sender(sqlite_engine, {"email": channel(smtp_server)}), ["k1", "k2"])
    assert result == {"k1": "failed", "k2": "sent"}
    assert [i.attempts for i in outbox.items(sqlite_engine)] == [1, 1]
    assert "550" in (outbox.items(sqlite_engine, "failed")[0].last_error or "")


async def test_a_temporary_refusal_is_retried(sqlite_engine: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(2, code=451, stage="DATA")
    smtp_server.fail_next(1, code=421, message="4.7.0 try again", stage="RCPT")
    enqueue(sqlite_engine, [mail("k1", "unit@example.cn")])
    run = sender(sqlite_engine, {"email": channel(smtp_server)})
    assert await settle(run, ["k1"]) == {"k1": "sent"}
    assert run.tally.retried == 3
    assert len(smtp_server.messages) == 1


async def test_a_server_that_is_down_is_waited_for(sqlite_engine: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.go_down()
    enqueue(sqlite_engine, [mail("k1", "unit@example.cn")])
    run = sender(sqlite_engine, {"email": channel(smtp_server)})
    task = asyncio.create_task(settle(run, ["k1"]))
    while run.tally.retried < 2 and not task.done():  # refused connections, retried
        await asyncio.sleep(0.01)
    smtp_server.come_up()
    assert await task == {"k1": "sent"}
    assert len(smtp_server.messages) == 1
