"""`ccerbot run` as a real process on loopback servers: set it up, kill it, and read what it left behind.

The bot learns everything from its configuration file and its environment, as in production: the Bot API
server, the SMTP server, where mail comes from (a watched folder, or a Dovecot mailbox), the database (a
fresh SQLite file or a fresh PostgreSQL schema). What it did is read back from the database and from
what the servers received; nothing inside the bot is replaced or patched.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.demo.story import build_mailbox, load_story
from bot.notices.keys import OutboxKey
from bot.reports import unit_reports
from bot.sender.email import message_id
from bot.sender.telegram import plain_text
from compliance.creditcode import make_code
from compliance.cycle import load_cycle
from mail.intake import IntakeConfig, take
from mail.trust import Senders
from storage import access, outbox
from storage.engine import make_engine, session_scope
from storage.inbox import content_hash
from storage.migrate import upgrade
from storage.models import ImapCursor, InboundMessage, OutboxItem
from tests.servers.botapi import BotApiServer, Call
from tests.servers.dovecot import Dovecot, ImapAccount
from tests.servers.smtp import ReceivedMessage, SmtpServer

REPO = Path(__file__).resolve().parents[2]
STORY = load_story()
CYCLE = load_cycle("2019-2020")
ZJ, JS = "浙江省", "江苏省"
UNITS = {u["name"]: make_code(u["code17"]) for u in STORY["units"]}
SENDER = "ccerbot@demo.example"
# Who is in chat with the bot: three emitters (the other units hear by email) and 浙江省's officer
# (江苏省's officers only have their mailbox).
EMITTER_CHATS = {
    8101: UNITS["宁波北仑热电有限公司"],
    8102: UNITS["温州瓯江能源有限公司"],
    8103: UNITS["苏州工业园区热电有限公司"],
}
OFFICER_CHATS = {8201: ZJ}
# Mornings of the cycle whose reminders `reminders --send --at` writes and sends.
MORNINGS = ("2021-12-15T09:00", "2021-12-31T09:00")
ALL_MORNINGS = ("2021-12-10T09:00", *MORNINGS)
FACT_TABLES = (
    "unit",
    "unitalias",
    "rosterentry",
    "weeklysnapshot",
    "applicationline",
    "cancellationrecord",
)
INSTANTS = ("2021-11-30T09:00", "2021-12-15T09:00", "2022-01-10T09:00")
# The officers' alerts on what the mail has shown so far. Which of them a run sends depends on the states
# it looked at, between messages: a run that takes a backlog at start looks at its end only, one that was
# running as the mail came looks after each message (a unit confirmed and not yet listed as cancelled
# after the deadline is chased, then the next list shows it cancelled).
ANOMALIES = frozenset(
    {
        "offset_over_cap",
        "cancelled_exceeds_confirmed",
        "cancellation_after_deadline",
        "ineligible_ccer",
        "not_cancelled_by_deadline",
    }
)
# Between a SIGKILL and reading what the servers received: a request the dead process had fully sent is
# handled by then. A pause for the servers, not a measurement.
SERVERS_SETTLE_S = 0.3
POLL_S = 0.002


def story_mail(folder: Path) -> list[bytes]:
    """The demo's whole first-cycle mailbox (34 messages, two provinces), in the order it arrives."""
    return [path.read_bytes() for path in build_mailbox(folder)]


# --- one installation ------------------------------------------------------------------------------


@dataclass
class Setup:
    """One bot installation: its files, its database, its servers and the mail it will be sent."""

    root: Path
    database_url: str
    botapi: BotApiServer
    smtp: SmtpServer
    mail: Sequence[bytes]
    account: ImapAccount | None = None  # intake from this IMAP mailbox; else from the folder root/inbox
    dovecot: Dovecot | None = None
    verbose: bool = False
    mornings: tuple[str, ...] = MORNINGS
    delivered: int = 0  # how many of `mail` have been delivered so far
    processes: list[Bot] = field(default_factory=list)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def config(self) -> Path:
        return self.root / "ccerbot.toml"

    @property
    def log(self) -> Path:
        return self.root / "ccerbot.log"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text("utf-8", errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for process in self.processes:
            process.kill()
        if "engine" in self.__dict__:
            self.engine.dispose()


def prepare(setup: Setup) -> None:
    """The configuration file, an upgraded database and the chats that are bound."""
    setup.root.mkdir(parents=True, exist_ok=True)
    setup.inbox.mkdir(exist_ok=True)
    setup.config.write_text(config_text(setup), "utf-8")
    upgrade(setup.engine)
    now = datetime.now(UTC)
    with session_scope(setup.engine) as session:
        for chat, code in EMITTER_CHATS.items():
            access.bind(session, chat, "emitter", now, unit_code=code)
        for chat, province in OFFICER_CHATS.items():
            access.bind(session, chat, "officer", now, province=province)


def config_text(setup: Setup) -> str:
    senders = STORY["senders"]
    lines = [
        'cycle = "2019-2020"',
        'timezone = "Asia/Shanghai"',
    ]
    if setup.account is None:
        lines.append(f"mail_folder = {json.dumps(str(setup.inbox))}")
    lines += ["[senders]", f"ncsc = {json.dumps(senders['ncsc'])}", "[senders.provinces]"]
    lines += [f"{json.dumps(p)} = {json.dumps(a)}" for p, a in senders["provinces"].items()]
    lines += [
        "[telegram]",
        f'base_url = "{setup.botapi.base_url}"',
        f'base_file_url = "{setup.botapi.base_file_url}"',
        "[smtp]",
        f'host = "{setup.smtp.host}"',
        f"port = {setup.smtp.port}",
        'security = "none"',
        f'user = "{setup.smtp.user}"',
        f'sender = "{SENDER}"',
        "timeout_s = 10",
    ]
    if setup.account is not None:
        lines += [
            "[imap]",
            f'host = "{setup.account.host}"',
            f"port = {setup.account.port}",
            'security = "none"',
            f'user = "{setup.account.user}"',
            "timeout_s = 10",
        ]
    return "\n".join(lines) + "\n"


def environment(setup: Setup) -> dict[str, str]:
    """The machine's environment without any CCERBOT_ setting, and the secrets of this installation."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCERBOT_")}
    env["CCERBOT_TELEGRAM_TOKEN"] = setup.botapi.token
    env["CCERBOT_SMTP_PASSWORD"] = setup.smtp.password
    if setup.account is not None:
        env["CCERBOT_IMAP_PASSWORD"] = setup.account.password
    return env


def command(setup: Setup, *args: str) -> list[str]:
    verbose = ["-v"] if setup.verbose else []
    return [
        sys.executable,
        "-m",
        "bot.cli",
        *verbose,
        "--config",
        str(setup.config),
        "--db",
        setup.database_url,
        *args,
    ]


def deliver(setup: Setup, count: int | None = None) -> int:
    """Delivers the next `count` messages (all that are left by default); how many were delivered."""
    end = len(setup.mail) if count is None else min(len(setup.mail), setup.delivered + count)
    for n in range(setup.delivered, end):
        raw = setup.mail[n]
        if setup.account is None:
            path = setup.inbox / f"{n + 1:03d}.eml"
            staged = setup.inbox / f".{n + 1:03d}.tmp"  # hidden: the watcher never takes a half-written file
            staged.write_bytes(raw)
            past = time.time() - 60  # complete long ago: the watcher takes it at once
            os.utime(staged, (past, past))
            staged.rename(path)
        else:
            assert setup.dovecot is not None
            setup.dovecot.append(setup.account.user, raw)
    taken, setup.delivered = end - setup.delivered, end
    return taken


# --- the process -----------------------------------------------------------------------------------


class Bot:
    """One `ccerbot …` process, its output appended to the installation's log."""

    def __init__(self, setup: Setup, *args: str) -> None:
        self.args = args
        with setup.log.open("ab") as log:
            log.write(f"--- ccerbot {' '.join(args)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command(setup, *args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=environment(setup),
                cwd=REPO,
            )
        setup.processes.append(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or handed back."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a supervisor stops it; its exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, setup: Setup | None = None) -> None:
    """Polls `condition` until it holds; a guard against a test that hangs, not a measurement."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = f"\n--- outbox ---\n{_unsent(setup)}\n--- log ---\n{setup.log_tail()}" if setup else ""
            raise AssertionError(f"not reached within {timeout:.0f} s: {what}{tail}")
        time.sleep(0.05)


def _unsent(setup: Setup) -> str:
    """The outbox items not sent, one line each: what a wait for "everything sent" is stuck on."""
    lines = [
        f"{i.state} {i.kind} {i.channel}:{i.recipient} next={i.next_attempt_at} error={i.last_error}"
        for i in items(setup.engine)
        if i.state != "sent"
    ]
    return "\n".join(lines[:40]) or "(every item sent)"


# --- what the database says ------------------------------------------------------------------------


def finished_mail(engine: Engine) -> int:
    """Messages stored and finished (applied, duplicate of a finished one, or quarantined)."""
    with engine.connect() as connection:
        query = select(func.count()).where(col(InboundMessage.state).in_(["done", "quarantined"]))
        return int(connection.execute(query).scalar() or 0)


def has_cursor(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(select(func.count()).select_from(ImapCursor)).scalar())


def intake_complete(setup: Setup) -> bool:
    """Every distinct message delivered so far is finished, and an IMAP inbox has been emptied."""
    distinct = len({content_hash(raw) for raw in setup.mail[: setup.delivered]})
    if finished_mail(setup.engine) < distinct:
        return False
    if setup.account is None or setup.dovecot is None:
        return True
    return setup.dovecot.folder_uids(setup.account.user, "INBOX") == []


def items(engine: Engine) -> list[OutboxItem]:
    return outbox.items(engine)


def expire_claims(engine: Engine) -> int:
    """Moves the claims of dead senders back by outbox.LEASE: the five minutes after which another
    sender takes their items over pass at once instead of in real time. Only while no bot runs."""
    with session_scope(engine) as session:
        stuck = list(session.exec(select(OutboxItem).where(OutboxItem.state == "sending")))
        for item in stuck:
            assert item.claimed_at is not None
            item.claimed_at = item.claimed_at - outbox.LEASE - timedelta(seconds=1)
        return len(stuck)


# --- what the servers received ---------------------------------------------------------------------


@dataclass(frozen=True)
class Deliveries:
    """Every message the servers accepted, matched to the outbox item it delivers."""

    counts: Counter[str]  # outbox key -> how many times the servers accepted it
    strays: list[str]  # accepted messages that are no outbox item


def deliveries(setup: Setup, ledger: Iterable[OutboxItem]) -> Deliveries:
    by_chat: dict[tuple[int, str], str] = {}
    by_id: dict[str, str] = {}
    for item in ledger:
        if item.channel == "telegram":
            for text in {item.body, plain_text(item.body)}:
                other = by_chat.setdefault((int(item.recipient), text), item.key)
                assert other == item.key, (
                    f"two items look alike in chat {item.recipient}: {other}, {item.key}"
                )
        elif item.channel == "email":
            by_id[message_id(item.key, SENDER)] = item.key
    counts: Counter[str] = Counter()
    strays: list[str] = []
    for call in telegram_messages(setup.botapi):
        key = by_chat.get((int(call.chat_id or 0), call.text or ""))
        if key is None:
            strays.append(f"telegram {call.chat_id}: {(call.text or '')[:60]!r}")
        else:
            counts[key] += 1
    for mail in setup.smtp.messages:
        key = by_id.get(str(mail.message.get("Message-ID", "")))
        if key is None:
            strays.append(f"email {mail.rcpt_tos}: {mail.subject[:60]!r}")
        else:
            counts[key] += 1
    return Deliveries(counts, strays)


def telegram_messages(botapi: BotApiServer) -> list[Call]:
    return [c for c in botapi.sent if c.method == "sendMessage"]


def accepted(setup: Setup) -> int:
    """Messages the servers accepted so far (chat messages and mail)."""
    return len(telegram_messages(setup.botapi)) + len(setup.smtp.messages)


def mails_to(smtp: SmtpServer, address: str) -> list[ReceivedMessage]:
    return [m for m in smtp.messages if address in m.rcpt_tos]


# --- the final state, comparable across runs and databases -----------------------------------------


_MESSAGE_NUMBER = re.compile(r"(?<=编号 )\d+|(?<=编号：)\d+|(?<=retry )\d+")


@dataclass(frozen=True)
class Final:
    """What one run left, with row ids replaced by content hashes (ids are not the same on PostgreSQL)."""

    counts: dict[str, int]
    reports: dict[str, list[dict[str, Any]]]
    mail: list[tuple[Any, ...]]
    items: dict[str, tuple[Any, ...]]  # every item but anomaly alerts: key -> what it says, and its state
    anomaly_alerts: dict[str, str]  # key -> state


def final_state(engine: Engine) -> Final:
    with engine.connect() as connection:
        counts = {
            t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0) for t in FACT_TABLES
        }
    with session_scope(engine) as session:
        messages = list(session.exec(select(InboundMessage)))
        hashes = {m.id: m.content_hash[:16] for m in messages}
        mail = sorted(
            (m.content_hash, m.state, m.outcome, m.kind, m.province, m.rows_applied, m.trusted)
            for m in messages
        )
    reports = {at: [r.to_json() for r in unit_reports(engine, CYCLE, _local(at))] for at in INSTANTS}
    kept: dict[str, tuple[Any, ...]] = {}
    alerts: dict[str, str] = {}
    for item in items(engine):
        if item.audience == "officer" and item.kind in ANOMALIES:
            alerts[item.key] = item.state
            continue
        key, body = item.key, item.body
        if item.kind in ("receipt", "untrusted_mail"):  # about the message: (its id, …)
            parsed = OutboxKey.parse(key)
            number = int(parsed.about[0])
            key = str(replace(parsed, about=(hashes[number], *parsed.about[1:])))
            body = _MESSAGE_NUMBER.sub(lambda m: hashes.get(int(m.group()), m.group()), body)
        kept[key] = (item.audience, item.channel, item.recipient, item.kind, item.subject, body, item.state)
    return Final(counts, reports, mail, kept, alerts)


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CYCLE.tz)


def anomalies_seen(mail: Sequence[bytes], folder: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The anomalies of the final state, and every anomaly some prefix of the mailbox shows on the way.

    Intake applies one message per transaction, in order, so the scheduler can only ever see a prefix of
    the mailbox: the alerts it writes lie between these two sets, however intake and alerts interleave.
    """
    engine = make_engine(f"sqlite:///{folder / 'prefixes.db'}")
    upgrade(engine)
    config = IntakeConfig(Senders.build(STORY["senders"]["ncsc"], STORY["senders"]["provinces"]), CYCLE.tz)
    now = datetime.now(CYCLE.tz)
    ever: set[tuple[str, str]] = set()
    current: set[tuple[str, str]] = set()
    for n, raw in enumerate(mail):
        take(engine, raw, f"prefix-{n}", config, now)
        current = {(a, r.code) for r in unit_reports(engine, CYCLE, now) for a in r.status.officer_alerts}
        ever |= current
    engine.dispose()
    return current, ever


def alerted(final: Final) -> set[tuple[str, str]]:
    """(anomaly, unit code) of every anomaly alert written."""
    found = set()
    for key in final.anomaly_alerts:
        parts = key.split("|")
        found.add((parts[2], parts[-1]))
    return found


def recipients_of(final: Final, anomaly: str, code: str) -> set[str]:
    return {
        key.split("|")[1]
        for key in final.anomaly_alerts
        if key.split("|")[2] == anomaly and key.split("|")[-1] == code
    }


def all_sent(engine: Engine) -> bool:
    ledger = items(engine)
    return bool(ledger) and all(i.state == "sent" for i in ledger)


def worker_prefix(pid: int) -> str:
    """How the sender of process `pid` signs its claims (bot.sender.loop.worker_name)."""
    return f"{socket.gethostname()}:{pid}:"
