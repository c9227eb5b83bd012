"""From raw RFC 5322 bytes to the parts that matter: envelope, attachments, HTML and text bodies.

The standard library's compat32 parser is used because it never raises on broken MIME and keeps
every header as raw as it came (8-bit bytes as surrogate escapes); all decoding is ours
(`mail.decode`), so that one charset policy applies everywhere.
"""

from __future__ import annotations

import base64
import binascii
import email
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from zoneinfo import ZoneInfo

from mail.authn import strict_mailbox
from mail.decode import (
    as_text,
    decode_header_value,
    decode_text,
    filename_of,
    parse_params,
    raw_header,
    raw_headers,
)

# A bare date with no zone in a header was written by a clock in China.
DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Shanghai")
# Deeper than any real forward chain; stops a crafted message from recursing without end.
MAX_DEPTH = 20
_BODY_TYPES = ("text/plain", "text/html")
# message/* parts that are reports, not forwarded mail.
_NOT_FORWARDS = ("message/delivery-status", "message/disposition-notification", "message/external-body")
# The look-behind starts a trial only where a run of address characters starts: "@aaaa…" is read once,
# not once from each of its letters.
_ADDRESS = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class MailUnreadable(ValueError):
    """Nothing at all could be read from the bytes; `reason` says why, in Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailTooLarge(MailUnreadable):
    """The message, or a message forwarded inside it, is over a size limit: refused before it is read."""


KiB, MiB = 1024, 1024 * 1024


@dataclass(frozen=True)
class MailLimits:
    """What a message may hold before it is refused unread: nothing outside these is ever parsed."""

    max_message_bytes: int = 40 * MiB  # the 20 MB attachment limit, base64-encoded, and some
    max_header_field: int = 32 * KiB  # one header with its folded lines (a long To list is ~10 KB)
    max_header_block: int = 128 * KiB  # all the headers of one message, forwarded ones each on their own


DEFAULT_LIMITS = MailLimits()


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Envelope:
    message_id: str | None
    sender: str | None  # bare lower-case address of From
    to: tuple[str, ...]
    subject: str
    date: datetime | None  # aware
    sender_problem: str | None = None  # why From gave no sender (none, two, a name without an address)
    auth_results: tuple[str, ...] = ()  # Authentication-Results headers, as written
    automatic: bool = False  # an auto-reply, a bounce or bulk mail: never answered (RFC 3834)


@dataclass(frozen=True)
class Walked:
    envelope: Envelope
    attachments: tuple[Attachment, ...]
    html_bodies: tuple[str, ...]
    text_body: str
    forwarded: tuple[Envelope, ...]  # outermost first


@dataclass
class _Found:
    local_tz: tzinfo
    limits: MailLimits
    attachments: list[Attachment] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    forwarded: list[Envelope] = field(default_factory=list)


PLAUSIBLE_YEARS = (2000, 2100)  # a Date header outside these years is taken as missing


def parse_message(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> Message:
    """Parse leniently; raise MailUnreadable only when no header at all can be found, MailTooLarge
    when the bytes or the headers are over the limits (checked before anything is parsed)."""
    if not isinstance(raw, bytes | bytearray):
        raise MailUnreadable("邮件内容不是字节串")
    if len(raw) > limits.max_message_bytes:
        raise MailTooLarge(f"邮件超过 {limits.max_message_bytes // MiB} MB")
    # Saved .eml files sometimes start with a byte-order mark or blank lines, which would end the headers.
    data = bytes(raw).removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n\t ")
    if not data:
        raise MailUnreadable("邮件为空")
    check_header_sizes(data, limits)
    try:
        msg = email.message_from_bytes(data, policy=compat32)
    except RecursionError as exc:
        raise MailUnreadable("邮件的多部分结构嵌套过深，无法解析") from exc
    except MemoryError:
        raise  # over the reader's memory limit: the reader says so, not "broken"
    except Exception as exc:  # the parser is meant never to raise; be sure of it
        raise MailUnreadable("邮件结构损坏，无法解析") from exc
    if not msg.keys():
        raise MailUnreadable("没有邮件头，不是邮件")
    return msg


def check_header_sizes(data: bytes, limits: MailLimits = DEFAULT_LIMITS) -> int:
    """Each header field and the whole header block within the limits, by one pass over the block;
    returns where the block ends."""
    head = data[: limits.max_header_block + 4]
    ends = [at for at in (head.find(b"\n\n"), head.find(b"\n\r\n")) if at >= 0]
    end = min(ends) + 1 if ends else len(head)
    if end > limits.max_header_block:
        raise MailTooLarge(f"邮件头超过 {limits.max_header_block // KiB} KB")
    _check_fields(head[:end].splitlines(), limits, "邮件头")
    return end


def _check_fields(lines: list[bytes] | list[str], limits: MailLimits, where: str) -> None:
    size = 0
    for line in lines:
        folded = line[:1] in (b" ", b"\t", " ", "\t")
        size = size + len(line) if folded else len(line)
        if size > limits.max_header_field:
            raise MailTooLarge(f"{where}中有一项超过 {limits.max_header_field // KiB} KB")


def _check_parsed_headers(msg: Message, limits: MailLimits) -> None:
    """A message forwarded inline was parsed with its container: its headers are measured before use."""
    fields = [f"{key}: {value}" for key, value in msg.raw_items()]
    if sum(len(field) + 2 for field in fields) > limits.max_header_block:
        raise MailTooLarge(f"转发的邮件头超过 {limits.max_header_block // KiB} KB")
    _check_fields(fields, limits, "转发的邮件头")


@dataclass(frozen=True)
class Headline:
    """What the headers say that a message is stored under, before its body is read."""

    message_id: str | None
    sender: str | None
    subject: str
    date: datetime | None
    automatic: bool


def read_headline(
    raw: bytes, *, local_tz: tzinfo = DEFAULT_TZ, limits: MailLimits = DEFAULT_LIMITS
) -> Headline:
    """The headers a message is stored under, read from the header block alone within the limits: the
    service's own process never reads a body, nor more of the headers than storing needs."""
    if not isinstance(raw, bytes | bytearray):
        raise MailUnreadable("邮件内容不是字节串")
    if len(raw) > limits.max_message_bytes:
        raise MailTooLarge(f"邮件超过 {limits.max_message_bytes // MiB} MB")
    data = bytes(raw).removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n\t ")
    end = check_header_sizes(data, limits)
    # the parser reads every line it is given, a body's too: it is given the header block only
    msg = BytesHeaderParser(policy=compat32).parsebytes(data[:end], headersonly=True)
    if not msg.keys():
        raise MailUnreadable("没有邮件头，不是邮件")
    return Headline(
        message_id=_message_id(raw_header(msg, "message-id")),
        sender=strict_mailbox([as_text(raw) for raw in raw_headers(msg, "from")]).address,
        subject=decode_header_value(raw_header(msg, "subject")),
        date=_date(raw_header(msg, "date"), local_tz),
        automatic=is_automatic(msg),
    )


def walk(raw: bytes, *, local_tz: tzinfo = DEFAULT_TZ, limits: MailLimits = DEFAULT_LIMITS) -> Walked:
    msg = parse_message(raw, limits)
    found = _Found(local_tz, limits)
    _visit(msg, found, 0)
    return Walked(
        envelope=envelope_of(msg, local_tz=local_tz),
        attachments=tuple(found.attachments),
        html_bodies=tuple(found.html),
        text_body=found.texts[0] if found.texts else "",
        forwarded=tuple(found.forwarded),
    )


def envelope_of(msg: Message, *, local_tz: tzinfo = DEFAULT_TZ) -> Envelope:
    sender = strict_mailbox([as_text(raw) for raw in raw_headers(msg, "from")])
    return Envelope(
        message_id=_message_id(raw_header(msg, "message-id")),
        sender=sender.address,
        to=_addresses(raw_headers(msg, "to")),
        subject=decode_header_value(raw_header(msg, "subject")),
        date=_date(raw_header(msg, "date"), local_tz),
        sender_problem=sender.problem,
        auth_results=tuple(as_text(raw) for raw in raw_headers(msg, "authentication-results")),
        automatic=is_automatic(msg),
    )


# Answering an out-of-office reply or a bounce invites the next one (RFC 3834): those get no answer.
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply"})
_AUTOMATIC_HEADERS = ("X-Autoreply", "X-Autorespond")


def is_automatic(msg: Message) -> bool:
    """An auto-reply, a bounce or bulk mail, by its headers."""
    submitted = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return (
        submitted != "no"
        or precedence in _AUTOMATIC_PRECEDENCE
        or msg.get_content_type() == "multipart/report"
        or any(name in msg for name in _AUTOMATIC_HEADERS)
    )


def _visit(part: Message, found: _Found, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    ctype = part.get_content_type()
    payload = part.get_payload()
    if isinstance(payload, list):
        if ctype in _NOT_FORWARDS:
            return
        for sub in payload:
            if not isinstance(sub, Message):
                continue
            if ctype.startswith("message/"):
                _forwarded(_unwrap(part, sub, found.limits), found, depth)
            else:
                _visit(sub, found, depth + 1)
        return
    _leaf(part, found, depth)


def _forwarded(inner: Message | None, found: _Found, depth: int) -> None:
    if inner is None:
        return
    _check_parsed_headers(inner, found.limits)
    found.forwarded.append(envelope_of(inner, local_tz=found.local_tz))
    _visit(inner, found, depth + 1)


def _unwrap(container: Message, inner: Message, limits: MailLimits) -> Message | None:
    """A message/rfc822 part sent with a base64 or quoted-printable body (against the RFC, but seen)
    parses as a header-less message whose body is the encoded text: decode it and parse again."""
    cte = str(container.get("content-transfer-encoding", "")).strip().lower()
    body = inner.get_payload()
    if inner.keys() or cte not in ("base64", "quoted-printable") or not isinstance(body, str):
        return inner
    try:
        encoded = body.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # labelled base64 but carries 8-bit text: read it as it stands
        return inner
    try:
        data = base64.b64decode(encoded) if cte == "base64" else quopri.decodestring(encoded)
        return parse_message(data, limits)
    except MailTooLarge:
        raise
    except (binascii.Error, ValueError):
        return None


def _leaf(part: Message, found: _Found, depth: int) -> None:
    ctype = part.get_content_type()
    filename = filename_of(part)
    data = _payload_bytes(part)
    if part.get_content_maintype() == "multipart":
        # Its boundary was never found: what is left is text, not an attachment.
        found.texts.append(decode_text(data, _charset(part)))
        return
    if ctype in _BODY_TYPES and filename is None and part.get_content_disposition() != "attachment":
        text = decode_text(data, _charset(part))
        (found.html if ctype == "text/html" else found.texts).append(text)
        return
    if _is_attached_mail(ctype, filename):
        try:
            _forwarded(parse_message(data, found.limits), found, depth)
            return
        except MailTooLarge:
            raise
        except MailUnreadable:
            pass  # not mail after all: keep it as an ordinary attachment
    if data or filename:
        found.attachments.append(Attachment(filename, ctype, data))


def _is_attached_mail(ctype: str, filename: str | None) -> bool:
    return ctype == "message/rfc822" or (filename or "").lower().endswith(".eml")


def _charset(part: Message) -> str | None:
    return parse_params(raw_header(part, "content-type") or "").get("charset")


def _payload_bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _addresses(raws: list[str]) -> tuple[str, ...]:
    """Bare lower-case addresses, in order, without repeats."""
    text = ", ".join(as_text(raw) for raw in raws)
    if "@" not in text:
        return ()
    found = [addr for _, addr in getaddresses([text]) if _ADDRESS.fullmatch(addr.strip())]
    if not found:  # getaddresses gives up on malformed lists; pick the addresses out by hand
        found = _ADDRESS.findall(text)
    return tuple(dict.fromkeys(addr.strip().lower() for addr in found))


def _message_id(raw: str | None) -> str | None:
    text = decode_header_value(raw)
    match = _MESSAGE_ID.search(text)
    return match.group(0) if match else (text or None)


def _date(raw: str | None, local_tz: tzinfo) -> datetime | None:
    text = decode_header_value(raw)
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    if when.tzinfo is None:
        # RFC 5322: -0000 is UTC with the sender's zone unknown; no zone at all is a local clock.
        when = when.replace(tzinfo=ZoneInfo("UTC") if "-0000" in text else local_tz)
    return when if _plausible(when) else None


def _plausible(when: datetime) -> bool:
    """A date a mail system could really have written: a dead clock battery says 1970, a typo 9999."""
    try:
        when.astimezone(ZoneInfo("UTC"))
    except (OverflowError, ValueError):
        return False
    return PLAUSIBLE_YEARS[0] <= when.year <= PLAUSIBLE_YEARS[1]
