"""A file an officer bound in chat hands in: taken as the mail it stands for, trusted by the binding.

An officer who drops a roster, a weekly summary or a list into the chat has it taken exactly as if the
province's trusted sender had mailed it (a national officer: as if the national center had, for its daily
cancellation lists, or the registry, for its operation lists). The file becomes a message from that
sender, and goes through `mail.intake.take` like any other; the chat and the province it was handed in
for are stored with the message (`InboundMessage.handed_in_by`, `handed_in_for`), and only they make it
trusted: a mailed message with the same From line is judged by its From line and the receiving server's
verdict, as always.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from mail.application_form import is_word
from mail.records import MessageKind
from mail.sniff import SPREADSHEET_NAMES, sniff
from mail.trust import Senders, Verdict, judge

NATIONAL = "*"
# addresses of the message the file travels in when the officer's province has no configured sender
NO_ADDRESS = "officer@handed-in.invalid"
TO = "intake@handed-in.invalid"
TABLE_NAMES = (*SPREADSHEET_NAMES, ".html", ".htm")


@dataclass(frozen=True)
class HandedIn:
    """Who handed a message in from a chat: its chat ("telegram:1001") and the officer's province."""

    by: str
    province: str  # NATIONAL for a national officer

    @property
    def source(self) -> str:
        """How the inbox names where the message came from."""
        return f"chat:{self.by}"

    def as_stored(self) -> tuple[str, str]:
        return self.by, self.province


def vouched(handed: HandedIn, kind: MessageKind, named_province: str | None) -> Verdict:
    """The verdict the officer's own trusted address would get: the same rule, with the binding in place
    of the address (a province's officer speaks for that province only; a national one as the national
    center and the registry, for their lists)."""
    # the binding in the address's place, as the reasons name it: "山东省主管部门（telegram:1001）"
    who = "全国" if handed.province == NATIONAL else handed.province
    key = f"{who}主管部门（{handed.by}）".lower()
    if handed.province == NATIONAL:
        senders = Senders(ncsc=frozenset({key}), registry=frozenset({key}))
    else:
        senders = Senders(provinces={handed.province: frozenset({key})})
    return judge(senders, key, kind, named_province)


def takes_file(filename: str | None, content_type: str, data: bytes) -> bool:
    """A spreadsheet (or a zip or a web page holding one), a CSV, or a Word form: what mail carries."""
    if not data:
        return False
    if sniff(data, filename, content_type) not in ("unknown", "encrypted"):
        return True
    named = (filename or "").lower().endswith(TABLE_NAMES)
    return named or is_word(filename, content_type)


def sender_of(handed: HandedIn, senders: Senders) -> str:
    """The From line: the province's first configured address (the national center's for a national
    officer); it names the sender, it does not make the message trusted."""
    if handed.province == NATIONAL:
        addresses = sorted(senders.ncsc)
    else:
        addresses = sorted(senders.provinces.get(handed.province, ()))
    return addresses[0] if addresses else NO_ADDRESS


def as_mail(
    handed: HandedIn,
    senders: Senders,
    filename: str | None,
    content_type: str,
    data: bytes,
    now: datetime,
) -> bytes:
    """The message carrying the file. Its Message-ID is the file's (and the province's): the same file
    handed in again is the same message, a duplicate, as a message mailed twice is."""
    digest = hashlib.sha256(handed.province.encode() + b"\0" + data).hexdigest()[:40]
    name = filename or "file"
    message = EmailMessage(policy=SMTP)
    message["From"] = sender_of(handed, senders)
    message["To"] = TO
    message["Subject"] = name.rsplit(".", 1)[0] if "." in name else name
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{digest}@handed-in.ccerbot>"
    message.set_content(f"{handed.source}（{handed.province}）在对话中提交的文件。\n")
    main, _, sub = content_type.partition(";")[0].strip().partition("/")
    if not main or not sub:
        main, sub = "application", "octet-stream"
    message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message.as_bytes()
