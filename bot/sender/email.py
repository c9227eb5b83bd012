"""Delivery by email through aiosmtplib, for units that have a contact address and no chat.

aiosmtplib's disconnects and timeouts are ConnectionError and TimeoutError and need no translation;
its replies are mapped here, including the per-recipient refusals that send() returns instead of raising
when another recipient was accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
)

from bot.config import SmtpConfig
from bot.sender.policy import DeliveryError, PermanentError, TemporaryError
from storage.models import OutboxItem

_OCTET = "application/octet-stream"


class EmailChannel:
    name = "email"

    def __init__(self, config: SmtpConfig, concurrency: int = 4) -> None:
        self._config = config
        self._slots = asyncio.Semaphore(concurrency)  # mail servers dislike many parallel sessions

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        message = compose(item, self._config.sender or self._config.user)
        async with self._slots:
            try:
                errors = await self._send(message)
            except SMTPRecipientsRefused as refused:
                raise _from_reply(refused.recipients[0]) from refused
            except (SMTPAuthenticationError, SMTPSenderRefused) as error:
                # every message would fail the same way: keep them queued until the configuration is fixed
                raise TemporaryError(f"SMTP {error.code} {error.message} (check [smtp])") from error
            except SMTPResponseException as error:
                raise _from_reply(error) from error
        refusal = errors.get(item.recipient)
        if refusal is not None:
            raise _reply_error(refusal.code, refusal.message)

    async def _send(self, message: EmailMessage) -> dict[str, SMTPResponse]:
        config = self._config
        password = config.password.get_secret_value() if config.password and config.user else None
        errors, _ = await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.user if password is not None else None,
            password=password,
            use_tls=config.security == "ssl",
            start_tls={"starttls": True, "none": False}.get(config.security),
            timeout=config.timeout_s,
        )
        return errors


def compose(item: OutboxItem, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = item.sender or sender  # a province's summary leaves from the province's address
    message["To"] = item.recipient
    if item.cc:
        message["Cc"] = item.cc
    message["Subject"] = item.subject
    message["Date"] = formatdate(localtime=True)
    # The same outbox item always carries the same Message-ID, so a copy sent again after a crash is one
    # message to mail clients that collapse duplicates.
    message["Message-ID"] = message_id(item.key, sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(item.body, charset="utf-8")
    if item.attachment is not None:
        maintype, subtype = (mimetypes.guess_type(item.attachment_name or "")[0] or _OCTET).split("/")
        message.add_attachment(item.attachment, maintype, subtype, filename=item.attachment_name)
    return message


def message_id(key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "ccerbot.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _from_reply(error: SMTPResponseException) -> DeliveryError:
    return _reply_error(error.code, error.message)


def _reply_error(code: int, text: str) -> DeliveryError:
    description = f"SMTP {code} {text}"
    if 500 <= code < 600:
        return PermanentError(description)
    return TemporaryError(description)
