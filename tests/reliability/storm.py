"""Killing `ccerbot run` (and `ccerbot reminders --send`) with SIGKILL at seeded random moments.

A moment is picked by what can be seen from outside: after the k-th message intake finishes, after the
k-th message the servers accept (which lands the kill between Telegram's or the mail server's answer and
the sender's mark_sent more often than chance would), or after a random time. After each kill the
database and the servers are read to count, honestly, the items that the dead process had delivered
without recording it: each of them may be delivered once more, and no other.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from storage import outbox
from tests.reliability.harness import (
    ANOMALIES,
    POLL_S,
    SERVERS_SETTLE_S,
    Bot,
    Final,
    Setup,
    accepted,
    alerted,
    deliver,
    deliveries,
    expire_claims,
    final_state,
    finished_mail,
    has_cursor,
    intake_complete,
    items,
    recipients_of,
    wait_until,
    worker_prefix,
)

# A trigger that cannot fire (nothing left to take in or send) gives way to a kill after this long.
FALLBACK_S = 6.0
START_S = 60.0  # guard: a bot that does not come up
SETTLE_S = 120.0  # guard: the time everything may take to be sent once nobody kills the bot
STILL_S = 2.0  # the outbox unchanged this long (and all of it sent): the bot has nothing left to do


@dataclass
class Kill:
    number: int
    args: tuple[str, ...]
    trigger: str
    seconds: float  # how long the process had run
    mail_finished: int
    accepted: int
    in_flight: list[str]  # items the servers had accepted and the dead process had not marked sent


@dataclass
class Storm:
    setup: Setup
    seed: int
    expire: bool  # True: make the five-minute lease pass at once after each kill; False: wait for it
    chunk: tuple[int, int] | None = None  # mail delivered a few at a time (this many per round), or at once
    kills: list[Kill] = field(default_factory=list)
    windows: Counter[str] = field(default_factory=Counter)  # key -> kills that found it in flight
    rounds: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # --- the kills -------------------------------------------------------------------------------

    def rage(self, kills: int, of_reminders: int = 0) -> None:
        """At least `kills` kills, `of_reminders` of them of `reminders --send`: on a slow machine intake
        may take every one of the first `kills`, and the sending side must be killed too."""
        while len(self.kills) < kills or self._reminder_kills() < of_reminders:
            self.round()

    def _reminder_kills(self) -> int:
        return sum(1 for kill in self.kills if kill.args[0] == "reminders")

    def round(self) -> None:
        setup, rng = self.setup, self.rng
        self.rounds += 1
        taking_in = setup.delivered < len(setup.mail) or not intake_complete(setup)
        if taking_in or rng.random() < 0.4:
            args: tuple[str, ...] = ("run",)
        else:
            args = ("reminders", "--send", "--at", rng.choice(setup.mornings))
        if args[0] == "run" and (setup.account is None or has_cursor(setup.engine)):
            self._deliver_some()
        bot = Bot(setup, *args)
        if args[0] == "run" and setup.account is not None and not has_cursor(setup.engine):
            # a mailbox seen for the first time is read from its next UID on: mail comes after that
            wait_until(lambda: has_cursor(setup.engine), START_S, "the IMAP cursor", setup)
            self._deliver_some()
        if taking_in:
            trigger, amount = rng.choice(["mail", "mail", "delivery", "time"]), rng.randint(1, 6)
        else:
            trigger, amount = rng.choice(["delivery", "delivery", "time"]), rng.randint(1, 4)
        limit = rng.uniform(0.3, 3.5)
        self._kill_when(bot, trigger, amount, limit)

    def _deliver_some(self) -> None:
        if self.chunk is None:
            deliver(self.setup)
        else:
            deliver(self.setup, self.rng.randint(*self.chunk))

    def _kill_when(self, bot: Bot, trigger: str, amount: int, limit: float) -> None:
        setup = self.setup
        started = time.monotonic()
        mail_before, accepted_before = finished_mail(setup.engine), accepted(setup)
        while bot.alive:
            elapsed = time.monotonic() - started
            if trigger == "mail":
                fired = finished_mail(setup.engine) >= mail_before + amount
            elif trigger == "delivery":
                fired = accepted(setup) >= accepted_before + amount
            else:
                fired = elapsed >= limit
            if fired or elapsed >= FALLBACK_S:
                bot.kill()
                label = f"{trigger}+{amount}" if trigger != "time" else f"time {limit:.2f}s"
                self._killed(bot, label if fired else f"{label}, fallback", elapsed)
                return
            time.sleep(POLL_S)
        bot.wait(5)  # `reminders --send` may finish before its moment came: no kill this round

    def _killed(self, bot: Bot, trigger: str, seconds: float) -> None:
        setup = self.setup
        time.sleep(SERVERS_SETTLE_S)
        ledger = items(setup.engine)
        counts = deliveries(setup, ledger).counts
        prefix = worker_prefix(bot.pid)
        in_flight = [
            i.key
            for i in ledger
            if i.state == "sending"
            and (i.claimed_by or "").startswith(prefix)
            and counts[i.key] >= 1 + self.windows[i.key]
        ]
        self.windows.update(in_flight)
        self.kills.append(
            Kill(
                len(self.kills) + 1,
                bot.args,
                trigger,
                round(seconds, 2),
                finished_mail(setup.engine),
                accepted(setup),
                in_flight,
            )
        )
        if self.expire:
            expire_claims(setup.engine)

    # --- the end ---------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        counts = deliveries(self.setup, items(self.setup.engine)).counts
        return {
            "seed": self.seed,
            "rounds": self.rounds,
            "kills": len(self.kills),
            "kills_during_run": sum(1 for k in self.kills if k.args[0] == "run"),
            "kills_during_reminders_send": sum(1 for k in self.kills if k.args[0] == "reminders"),
            "kills_with_items_in_flight": sum(1 for k in self.kills if k.in_flight),
            "items_in_flight_at_kills": sum(len(k.in_flight) for k in self.kills),
            "most_in_flight_at_one_kill": max((len(k.in_flight) for k in self.kills), default=0),
            "duplicate_deliveries": sum(n - 1 for n in counts.values() if n > 1),
            "kill_log": [
                f"{k.number}: {' '.join(k.args[:1])} {k.trigger} after {k.seconds}s, "
                f"mail {k.mail_finished}, accepted {k.accepted}, in flight {len(k.in_flight)}"
                for k in self.kills
            ],
        }


def settle(setup: Setup, expected: Final | None, timeout: float = SETTLE_S) -> Final:
    """Runs the bot undisturbed until everything is taken in and sent, with each morning's reminders
    sent by `reminders --send`; then stops it with SIGTERM and returns what it left.

    `expected`: a clean run's final state, whose items (and the alerts of the final anomalies) this run
    must reach before it is stopped; None for the clean run itself.
    """
    service = Bot(setup, "run")
    if setup.account is not None and not has_cursor(setup.engine):
        wait_until(lambda: has_cursor(setup.engine), START_S, "the IMAP cursor", setup)
    deliver(setup)
    wait_until(lambda: intake_complete(setup), timeout, "every message taken in", setup)
    reminders = [Bot(setup, "reminders", "--send", "--at", at) for at in setup.mornings]  # side by side
    for process in reminders:
        process.wait(timeout + outbox.LEASE.total_seconds())
    wanted = len(expected.items) if expected is not None else 0
    final_anomalies = {(a, c) for a, c in _final_anomaly_pairs(expected)} if expected else set()

    seen = {"count": -1, "since": time.monotonic()}

    def caught_up() -> bool:
        ledger = items(setup.engine)
        if len(ledger) != seen["count"]:  # still writing: wait until the outbox has been still a while
            seen["count"], seen["since"] = len(ledger), time.monotonic()
        if not ledger or any(i.state != "sent" for i in ledger):
            return False
        plain = [i for i in ledger if not (i.audience == "officer" and i.kind in ANOMALIES)]
        written = {(i.kind, i.key.rsplit("|", 1)[-1]) for i in ledger if i.kind in ANOMALIES}
        # the clean run has nothing to reach: it waits until the bot has written nothing for a while
        still = expected is not None or time.monotonic() - seen["since"] >= STILL_S
        return still and len(plain) >= wanted and final_anomalies <= written

    wait_until(caught_up, timeout + outbox.LEASE.total_seconds(), "everything sent", setup)
    code = service.stop()
    assert code == 0, f"`ccerbot run` ended with {code} on SIGTERM\n{setup.log_tail()}"
    return final_state(setup.engine)


def _final_anomaly_pairs(expected: Final | None) -> set[tuple[str, str]]:
    if expected is None:
        return set()
    anomalies: set[tuple[str, str]] = set()
    at = list(expected.reports)[-1]
    for report in expected.reports[at]:
        anomalies |= {(a, report["code"]) for a in report["anomalies"]}
    return anomalies


# --- the comparison with a clean run ------------------------------------------------------------


def _differences(got: dict[str, tuple[Any, ...]], clean: dict[str, tuple[Any, ...]]) -> str:
    """The items one run wrote and the other did not, or wrote otherwise: what to look at when they differ."""
    keys = sorted(set(got) ^ set(clean)) + sorted(k for k in set(got) & set(clean) if got[k] != clean[k])
    return "\n".join(f"{k}: {got.get(k)} (clean: {clean.get(k)})" for k in keys[:20])


def check_against_clean(
    final: Final, clean: Final, bounds: tuple[set[tuple[str, str]], set[tuple[str, str]]]
) -> None:
    assert final.counts == clean.counts
    assert final.mail == clean.mail
    assert final.reports == clean.reports
    assert final.items == clean.items, _differences(final.items, clean.items)
    # Alerts of anomalies: those of the final state, once each, to the same officers; at most also some
    # that the mail showed on the way (a cancellation listed before its confirmation), as in any run.
    last, ever = bounds
    assert last <= alerted(final) <= ever
    assert last <= alerted(clean) <= ever
    for anomaly, code in last:
        assert recipients_of(final, anomaly, code) == recipients_of(clean, anomaly, code)
    assert set(final.anomaly_alerts.values()) == {"sent"}


def check_deliveries(storm: Storm) -> None:
    setup = storm.setup
    ledger = items(setup.engine)
    found = deliveries(setup, ledger)
    assert found.strays == [], found.strays
    assert {i.key for i in ledger} == set(found.counts), "an item marked sent never reached its server"
    over = {k: n for k, n in found.counts.items() if n > 1 + storm.windows[k]}
    assert over == {}, f"delivered more often than the kills can explain: {over}\n{storm.summary()}"
    duplicates = sum(n - 1 for n in found.counts.values())
    assert duplicates <= sum(storm.windows.values())
