"""`ccerbot run` killed with SIGKILL during intake and during sending, then left to finish, ends as one
clean run: the same facts, every message applied once, every receipt, alert and reminder written once
and delivered once — except, at most once more, an item a killed process had delivered without having
recorded it (bot/sender/loop.py says why nothing can prevent that).

The long version (20 kills, the real five-minute lease, mail from Dovecot) is tests/soak.
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from storage import outbox
from storage.engine import session_scope
from storage.outbox import NewItem
from tests.reliability.conftest import SetupFactory, open_setup
from tests.reliability.harness import (
    EMITTER_CHATS,
    Bot,
    Final,
    all_sent,
    deliveries,
    expire_claims,
    items,
    telegram_messages,
    wait_until,
    worker_prefix,
)
from tests.reliability.storm import Storm, check_against_clean, check_deliveries, settle

KILLS = 3
SEED = 20211215


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, mailbox: list[bytes]) -> Final:
    """One run nobody disturbs, mail from a watched folder, on SQLite."""
    with ExitStack() as stack:
        setup = open_setup(stack, tmp_path_factory.mktemp("clean"), mailbox)
        final = settle(setup, None)
        counts = deliveries(setup, items(setup.engine))
        assert counts.strays == [], counts.strays
        assert set(counts.counts.values()) == {1}, "a clean run delivered something twice"
        assert len(counts.counts) == len(items(setup.engine))
        return final


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_run_killed_during_intake_and_sending_ends_as_one_clean_run(
    database: str,
    make_setup: SetupFactory,
    clean: Final,
    anomaly_bounds: tuple[set[tuple[str, str]], set[tuple[str, str]]],
) -> None:
    setup = make_setup(database=database)
    storm = Storm(setup, SEED, expire=True)
    storm.rage(KILLS)
    final = settle(setup, clean)
    print(storm.summary())
    check_against_clean(final, clean, anomaly_bounds)
    check_deliveries(storm)
    assert [k.args[0] for k in storm.kills].count("run") >= 1
    assert any(k.mail_finished < len({*setup.mail}) for k in storm.kills), "no kill landed during intake"


def test_clean_run_is_what_the_story_says(clean: Final, mailbox: list[bytes]) -> None:
    """The reference itself: every message applied or refused as the demo tells it, receipts to the
    senders, the untrusted roster reported, each morning's reminders written."""
    outcomes = [m[2] for m in clean.mail]
    assert len(clean.mail) == len(set(mailbox)) == 33
    assert outcomes.count("quarantined") == 1 and outcomes.count("applied") >= 30
    kinds = [v[3] for v in clean.items.values()]
    assert kinds.count("receipt") == 32  # every trusted sender's message; the stranger gets nothing
    assert kinds.count("untrusted_mail") == 1  # the stranger's roster of 浙江省, told to its officer
    assert {"target_95", "cancel_ccer", "target_100", "compliance_deadline"} <= set(kinds)
    assert {v[1] for v in clean.items.values()} == {"telegram", "email"}
    assert {v[6] for v in clean.items.values()} == {"sent"}


# --- where the duplicates come from ----------------------------------------------------------------


@dataclass(frozen=True)
class InFlight:
    keys: list[str]
    stuck: list[str]  # items the dead process had claimed: still "sending"
    counts: Counter[str]  # deliveries per item once the next process has sent everything
    states: dict[str, str]


@pytest.fixture(scope="module")
def killed_in_flight(tmp_path_factory: pytest.TempPathFactory, mailbox: list[bytes]) -> InFlight:
    """Three reminders to three chats; Telegram takes them at once but answers late (as a slow network
    would), and the bot is killed then: between Telegram's acceptance and the sender's mark_sent."""
    with ExitStack() as stack:
        setup = open_setup(stack, tmp_path_factory.mktemp("in-flight"), mailbox)
        now = datetime.now(UTC)
        fresh = [
            NewItem(
                f"emitter|telegram:{chat}|cancel_ccer|2019-2020|2021-12-15|{code}",
                "emitter",
                "telegram",
                str(chat),
                "cancel_ccer",
                f"请在截止前注销 CCER（{code}）",
            )
            for chat, code in EMITTER_CHATS.items()
        ]
        with session_scope(setup.engine) as session:
            outbox.enqueue(session, fresh, now)
        setup.botapi.delay_next("sendMessage", 60.0, times=len(fresh))
        first = Bot(setup, "run")
        wait_until(
            lambda: len(telegram_messages(setup.botapi)) >= len(fresh), 60, "Telegram taking all three", setup
        )
        first.kill()
        stuck = [
            i.key
            for i in items(setup.engine)
            if i.state == "sending" and (i.claimed_by or "").startswith(worker_prefix(first.pid))
        ]
        expire_claims(setup.engine)  # the five minutes of the lease
        second = Bot(setup, "run")
        wait_until(lambda: all_sent(setup.engine), 60, "everything sent", setup)
        assert second.stop() == 0
        ledger = items(setup.engine)
        found = deliveries(setup, ledger)
        assert found.strays == []
        return InFlight([i.key for i in fresh], stuck, found.counts, {i.key: i.state for i in ledger})


def test_a_kill_between_acceptance_and_mark_sent_delivers_each_message_in_flight_once_more(
    killed_in_flight: InFlight,
) -> None:
    result = killed_in_flight
    assert sorted(result.stuck) == sorted(result.keys)
    assert result.states == {key: "sent" for key in result.keys}  # the ledger says once
    assert dict(result.counts) == {key: 2 for key in result.keys}  # the chats saw each twice
