"""A private Dovecot IMAP server on loopback, for tests that need a real mail store."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.servers import free_port

HOST = "127.0.0.1"
MAIN_USER = "ccerbot"
MAIN_PASSWORD = "secret"
MISSING_MESSAGE = "dovecot-imapd not installed: run .ci/install-test-deps"
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_LIBEXEC_DIRS = ("/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot")
_PR_SET_PDEATHSIG = 1


class DovecotUnavailable(RuntimeError):
    """Dovecot (with its IMAP service) is not installed on this machine."""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str


def find_dovecot() -> str:
    binary = shutil.which("dovecot", path=_SEARCH_PATH)
    # dovecot-core alone starts fine but fails at the first LOGIN: the imap binary comes with dovecot-imapd.
    has_imap = any(Path(d, "imap").exists() for d in _LIBEXEC_DIRS)
    if binary is None or not has_imap:
        raise DovecotUnavailable(MISSING_MESSAGE)
    return binary


def dovecot_version(binary: str) -> tuple[int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"(\d+)\.(\d+)", out.strip())
    if match is None:
        raise DovecotUnavailable(f"cannot read the Dovecot version from {out!r}")
    return int(match.group(1)), int(match.group(2))


def default_users(spares: int) -> dict[str, str]:
    users = {MAIN_USER: MAIN_PASSWORD}
    users.update({f"box{i}": f"secret{i}" for i in range(1, spares + 1)})
    return users


def quote_mailbox(name: str) -> str:
    encoded = encode_mailbox(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_mailbox(name: str) -> str:
    """IMAP modified UTF-7 (RFC 3501 5.1.3), so that Chinese folder names can be used as-is."""
    out: list[str] = []
    pending: list[str] = []
    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            out.append(_flush_utf7(pending))
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    out.append(_flush_utf7(pending))
    return "".join(out)


def _flush_utf7(pending: list[str]) -> str:
    if not pending:
        return ""
    raw = "".join(pending).encode("utf-16-be")
    pending.clear()
    return "&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-"


@dataclass(frozen=True)
class _Identity:
    mail_user: str
    mail_group: str
    login_user: str
    internal_user: str
    internal_group: str


def _identity() -> _Identity:
    if os.geteuid() == 0:
        # Dovecot refuses to run mail processes as root.
        return _Identity("nobody", _group_of("nobody"), "dovenull", "dovecot", "dovecot")
    me = pwd.getpwuid(os.geteuid())
    group = _group_of(me.pw_name)
    return _Identity(me.pw_name, group, me.pw_name, me.pw_name, group)


def _group_of(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _die_with_parent() -> None:
    # A test run killed with SIGKILL takes its Dovecot master along instead of leaving it listening.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Dovecot:
    """One private Dovecot instance: its own config, users, Maildirs, sockets and logs under one directory."""

    def __init__(self, users: Mapping[str, str] | None = None, spares: int = 8) -> None:
        self._binary = find_dovecot()
        self.version = dovecot_version(self._binary)
        self.users: dict[str, str] = dict(users) if users is not None else default_users(spares)
        self.spares = [u for u in self.users if u != MAIN_USER]
        self._lease_index = 0
        self.dir = Path(tempfile.mkdtemp(prefix="ccerbot-dovecot-"))
        self._port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._write_files()

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def config_path(self) -> Path:
        return self.dir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.dir / "dovecot.log"

    def account(self, user: str = MAIN_USER) -> ImapAccount:
        return ImapAccount(HOST, self._port, user, self.users[user])

    # --- files ---------------------------------------------------------------------------------

    def _write_files(self) -> None:
        ident = _identity()
        self.dir.chmod(0o755)  # the mail processes run as an unprivileged user and must reach the Maildirs
        mail_root = self.dir / "mail"
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir(exist_ok=True)
        shutil.chown(mail_root, ident.mail_user, ident.mail_group)
        lines = [f"{user}:{{PLAIN}}{password}::::::" for user, password in self.users.items()]
        (self.dir / "users").write_text("\n".join(lines) + "\n")
        render = _config_24 if self.version >= (2, 4) else _config_23
        self.config_path.write_text(render(self.dir, self._port, ident))

    # --- process -------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        log = (self.dir / "stderr.log").open("ab")
        self._process = subprocess.Popen(
            [self._binary, "-F", "-c", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            # The death signal follows the starting thread, so only the main thread may use it.
            preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        user = next(iter(self.users))
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with self.session(user):
                    return
            except (OSError, imaplib.IMAP4.error) as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"dovecot not ready: {exc!r}\n{self.log_tail()}") from exc
                time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # The master leaves logged-in imap processes (and its log and stats) behind when it stops:
        # the whole process group goes, so that clients see the server die.
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _signal_group(process.pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for path in (self.dir / "stderr.log", self.log_path):
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)

    # --- test-side IMAP helpers ------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, user: str = MAIN_USER) -> Iterator[imaplib.IMAP4]:
        """A logged-in imaplib connection; logs out (quietly) at the end."""
        client = imaplib.IMAP4(HOST, self._port, timeout=10)
        try:
            client.login(user, self.users[user])
            yield client
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: str = "") -> int:
        """Delivers one message through IMAP APPEND (creating the folder if needed); returns its UID."""
        mailbox = quote_mailbox(folder)
        with self.session(user) as client:
            if folder.upper() != "INBOX":
                client.create(mailbox)  # NO [ALREADYEXISTS] is fine
            typ, data = client.append(mailbox, f"({flags})" if flags else None, None, raw)
        _check(typ, data, "APPEND")
        match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        if match is None:
            raise RuntimeError(f"no APPENDUID in {data!r}")
        return int(match.group(1))

    def folder_uids(self, user: str, folder: str = "INBOX") -> list[int]:
        with self.session(user) as client:
            typ, data = client.select(quote_mailbox(folder), readonly=True)
            _check(typ, data, "EXAMINE")
            typ, data = client.uid("SEARCH", "ALL")
            _check(typ, data, "UID SEARCH")
        return [int(uid) for uid in (data[0] or b"").split()]

    def folders(self, user: str) -> list[str]:
        """Folder names as the server sends them (modified UTF-7)."""
        with self.session(user) as client:
            return _list_folders(client)

    def reset(self, user: str) -> None:
        """Empties a user's store: every folder but INBOX deleted, INBOX expunged."""
        with self.session(user) as client:
            names = sorted(_list_folders(client), key=len, reverse=True)
            for name in names:
                if name.upper() != "INBOX":
                    client.unsubscribe(_quote_raw(name))
                    client.delete(_quote_raw(name))
            typ, data = client.select("INBOX")
            _check(typ, data, "SELECT")
            if int(data[0] or b"0") > 0:
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()

    def lease(self) -> ImapAccount:
        """The next spare user, emptied: round robin so consecutive tests never share a store."""
        if not self.spares:
            raise RuntimeError("this Dovecot has no spare users")
        user = self.spares[self._lease_index % len(self.spares)]
        self._lease_index += 1
        self.reset(user)
        return self.account(user)


def _check(typ: str, data: Sequence[object], what: str) -> None:
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {data!r}")


_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.*)')


def _list_folders(client: imaplib.IMAP4) -> list[str]:
    typ, data = client.list()
    _check(typ, data, "LIST")
    names: list[str] = []
    for item in data:
        if isinstance(item, tuple):  # a name sent as a literal
            names.append(item[1].decode("ascii"))
            continue
        match = _LIST_LINE.match(item or b"")
        if match is not None:
            names.append(_unquote(match.group("name").decode("ascii")))
    return names


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name


def _quote_raw(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _common_settings(ident: _Identity) -> str:
    return f"""\
protocols = imap
listen = {HOST}
ssl = no
auth_mechanisms = plain login
# Failed logins must not slow later ones: tests try wrong passwords on purpose.
auth_failure_delay = 0
auth_verbose = yes
default_login_user = {ident.login_user}
default_internal_user = {ident.internal_user}
default_internal_group = {ident.internal_group}
mail_uid = {ident.mail_user}
mail_gid = {ident.mail_group}
# A non-root run uses the caller's own uid, which may be below the default of 500.
first_valid_uid = 1
mail_fsync = never
mail_max_userip_connections = 500
mailbox_idle_check_interval = 1 secs
# "/" as separator and the fs layout, as common providers do: "2024.05" and "归档/2024" are valid names.
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _services(port: int, address_key: str) -> str:
    return f"""\
# No chroot: it needs root, and these services only ever serve loopback tests.
service imap-login {{
  chroot =
  inet_listener imap {{
    {address_key} = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # Without this, one failed login delays every later login from 127.0.0.1 by seconds.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _config_23(root: Path, port: int, ident: _Identity) -> str:
    return (
        f"""\
base_dir = {root}/run
state_dir = {root}/state
instance_name = {root.name}
log_path = {root}/dovecot.log
disable_plaintext_auth = no
# Every RFC 2971 ID field a client sends is logged ("ID sent: name=…"), for the tests that check it.
imap_id_log = *
mail_location = maildir:{root}/mail/%u:LAYOUT=fs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={ident.mail_user} gid={ident.mail_group} home={root}/mail/%u
}}
"""
        + _common_settings(ident)
        + _services(port, "address")
    )


def _config_24(root: Path, port: int, ident: _Identity) -> str:
    return (
        f"""\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
base_dir = {root}/run
state_dir = {root}/state
instance_name = {root.name}
log_path = {root}/dovecot.log
auth_allow_cleartext = yes
mail_driver = maildir
mail_home = {root}/mail/%{{user}}
mail_path = {root}/mail/%{{user}}
mailbox_list_layout = fs
passdb passwd-file {{
  passwd_file_path = {root}/users
}}
userdb static {{
}}
"""
        + _common_settings(ident)
        + _services(port, "listen")
    )
