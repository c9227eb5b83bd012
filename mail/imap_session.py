"""One logged-in IMAP connection and the few commands the intake needs, over imap-tools.

Every call blocks; the intake runs them in a worker thread. Errors are left to the caller:
imaplib.IMAP4.error, OSError and imap-tools' ImapToolsError all mean "reconnect".
"""

from __future__ import annotations

import imaplib
import logging
import selectors
import ssl
from dataclasses import dataclass
from datetime import date

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage, U
from imap_tools.errors import (
    ImapToolsError,
    MailboxExpungeError,
    MailboxFlagError,
    MailboxFolderCreateError,
    UnexpectedCommandStatusError,
)
from imap_tools.utils import check_command_status

from mail.loopback import LOOPBACK

log = logging.getLogger(__name__)

# Everything that means the connection (or the server) is gone or unusable.
CONNECTION_ERRORS = (imaplib.IMAP4.error, OSError, ImapToolsError)
_CLOSING_ERRORS = (*CONNECTION_ERRORS, ValueError)


class RawMessage(MailMessage):
    """A fetched message that keeps its bytes exactly as the server sent them: the content hash needs them."""

    def __init__(self, fetch_data: list[object]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


class _RawMailBox(BaseMailBox):
    email_message_class = RawMessage


class _Ssl(_RawMailBox, MailBox):
    pass


class _StartTls(_RawMailBox, MailBoxStartTls):
    pass


class _Plain(_RawMailBox, MailBoxUnencrypted):
    pass


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: str  # ssl | starttls | none
    user: str
    password: str
    timeout_s: float = 30.0
    # RFC 2971 ID fields sent after login when the server offers ID; empty: the client does not say who it is
    client_id: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int


def connect(endpoint: Endpoint) -> BaseMailBox:
    """Log in and learn the capabilities the server announces only to a logged-in client (MOVE, IDLE)."""
    box = _mailbox(endpoint)
    try:
        box.login(endpoint.user, endpoint.password, initial_folder=None)
        refresh_capabilities(box)
        if endpoint.client_id and has(box, "ID"):
            identify(box, endpoint.client_id)
    except BaseException:
        close(box)
        raise
    return box


def _mailbox(endpoint: Endpoint) -> BaseMailBox:
    # imaplib's own default context checks no certificate at all.
    if endpoint.security == "ssl":
        return _Ssl(
            endpoint.host, endpoint.port, timeout=endpoint.timeout_s, ssl_context=ssl.create_default_context()
        )
    if endpoint.security == "starttls":
        context = ssl.create_default_context()
        return _StartTls(endpoint.host, endpoint.port, timeout=endpoint.timeout_s, ssl_context=context)
    if endpoint.security == "none" and endpoint.host in LOOPBACK:
        return _Plain(endpoint.host, endpoint.port, timeout=endpoint.timeout_s)
    raise ValueError(f"IMAP security {endpoint.security!r} is not allowed for {endpoint.host}")


def refresh_capabilities(box: BaseMailBox) -> None:
    # imap-tools decides between UID MOVE and copy + expunge from the pre-login list, which lacks MOVE.
    typ, data = box.client.capability()
    check_command_status((typ, data), UnexpectedCommandStatusError)
    latest = data[-1]
    if isinstance(latest, bytes):
        box.client.capabilities = tuple(latest.decode("ascii", "replace").upper().split())


def identify(box: BaseMailBox, fields: tuple[tuple[str, str], ...]) -> None:
    """RFC 2971 ID. NetEase (163, 126, yeah) and Coremail answer SELECT with "Unsafe Login" to a client that
    has not said who it is; a server that refuses ID itself is only logged, the next command tells."""
    listed = " ".join(f"{id_string(key)} {id_string(value)}" for key, value in fields)
    typ, data = box.client.xatom("ID", f"({listed})")  # xatom: imaplib's way to send an announced extension
    if typ != "OK":
        log.warning("IMAP server refused ID: %s %r", typ, data)


def id_string(text: str) -> str:
    """An IMAP quoted string; the configuration allows only printable ASCII, so nothing else needs care."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def has(box: BaseMailBox, capability: str) -> bool:
    return capability.upper() in box.client.capabilities


def close(box: BaseMailBox) -> None:
    """Log out when possible; a connection that is already gone is simply dropped."""
    try:
        box.logout()
    except _CLOSING_ERRORS:
        try:
            box.client.shutdown()
        except _CLOSING_ERRORS:
            log.debug("IMAP connection already closed")


def ensure_folder(box: BaseMailBox, name: str) -> None:
    if box.folder.exists(name):
        return
    try:
        box.folder.create(name)
    except MailboxFolderCreateError:
        if not box.folder.exists(name):  # another instance may have created it meanwhile
            raise
        return
    try:
        box.folder.subscribe(name, True)  # so that mail clients show it
    except ImapToolsError:
        log.info("IMAP folder %s created but not subscribed", name)


def select(box: BaseMailBox, folder: str) -> FolderState:
    """SELECT the folder; its UIDVALIDITY and UIDNEXT come with the answer (RFC 3501 requires them)."""
    box.folder.set(folder)
    validity, following = _code(box, "UIDVALIDITY"), _code(box, "UIDNEXT")
    if validity is None or following is None:
        status = box.folder.status(folder, ["UIDVALIDITY", "UIDNEXT"])
        validity, following = status["UIDVALIDITY"], status["UIDNEXT"]
    return FolderState(validity, following)


def _code(box: BaseMailBox, name: str) -> int | None:
    _typ, data = box.client.response(name)
    value = data[-1] if data else None
    return int(value) if isinstance(value, bytes) and value.strip().isdigit() else None


def uids_after(box: BaseMailBox, last_uid: int, since: date | None) -> list[int]:
    """UIDs above last_uid, oldest first; with `since`, only mail whose arrival date is on or after it."""
    criteria = (
        AND(uid=U(str(last_uid + 1), "*"), date_gte=since) if since else AND(uid=U(str(last_uid + 1), "*"))
    )
    # "n:*" always matches the newest message, even when its UID is below n.
    return sorted(u for u in (int(x) for x in box.uids(criteria, charset=None)) if u > last_uid)


def fetch_raw(box: BaseMailBox, uid: int) -> bytes | None:
    """The message's bytes, without setting \\Seen; None when it is gone."""
    for message in box.fetch(uid_list=[str(uid)], mark_seen=False):
        assert isinstance(message, RawMessage)
        return message.raw
    return None


def mark_seen(box: BaseMailBox, uid: int) -> None:
    # Not imap-tools' flag(): it expunges the whole folder afterwards.
    result = box.client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
    check_command_status(result, MailboxFlagError)


def move(box: BaseMailBox, uid: int, folder: str) -> None:
    if has(box, "MOVE"):
        box.move(str(uid), folder)
        return
    # Without MOVE: copy, then remove only this message (never expunge what others marked \Deleted).
    box.copy(str(uid), folder)
    result = box.client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
    check_command_status(result, MailboxFlagError)
    if has(box, "UIDPLUS"):
        check_command_status(box.client.uid("EXPUNGE", str(uid)), MailboxExpungeError)
    else:
        log.warning("IMAP server has neither MOVE nor UIDPLUS: message %s left flagged \\Deleted", uid)


def idle_start(box: BaseMailBox) -> None:
    box.idle.start()


def idle_stop(box: BaseMailBox) -> None:
    box.idle.stop()


def server_spoke(box: BaseMailBox, seconds: float) -> bool:
    """Wait up to `seconds` for the server to send something (new mail, BYE, or a closed socket)."""
    with selectors.DefaultSelector() as selector:
        selector.register(box.client.sock, selectors.EVENT_READ)
        return bool(selector.select(seconds))
