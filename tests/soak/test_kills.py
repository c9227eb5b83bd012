"""`ccerbot run` (and `ccerbot reminders --send`) killed with SIGKILL 20 times at seeded random moments,
during intake and during sending, then left to finish: the final state is that of one clean run.

Mail arrives a few messages at a time, so that intake goes on across the kills. On SQLite with mail from
Dovecot the dead processes' claims expire in real time (the outbox's five-minute lease); on PostgreSQL
with a watched folder they are moved back by the lease after each kill, as in tests/reliability.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.reliability.conftest import SetupFactory
from tests.reliability.harness import ALL_MORNINGS, Final, Setup, deliveries, items
from tests.reliability.storm import Storm, check_against_clean, check_deliveries, settle
from tests.servers.dovecot import Dovecot, ImapAccount

KILLS = 20
REMINDER_KILLS = 3  # of them at least, of `reminders --send`
Bounds = tuple[set[tuple[str, str]], set[tuple[str, str]]]


def clean_run(setup: Setup) -> Final:
    final = settle(setup, None)
    found = deliveries(setup, items(setup.engine))
    assert found.strays == [] and set(found.counts.values()) == {1}
    return final


def storm_against_clean(clean: Setup, killed: Setup, seed: int, expire: bool, bounds: Bounds) -> Storm:
    reference = clean_run(clean)
    storm = Storm(killed, seed, expire=expire, chunk=(2, 5))
    storm.rage(KILLS, of_reminders=REMINDER_KILLS)
    final = settle(killed, reference)
    summary = storm.summary()
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    (killed.root.parent / "soak-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    check_against_clean(final, reference, bounds)
    check_deliveries(storm)
    assert {k.args[0] for k in storm.kills} == {"run", "reminders"}
    assert sum(1 for k in storm.kills if k.mail_finished < len(set(killed.mail))) >= 5, "few kills in intake"
    return storm


def test_twenty_kills_on_sqlite_with_dovecot_and_the_real_lease(
    dovecot: Dovecot,
    new_imap_account: Callable[[], ImapAccount],
    make_setup: SetupFactory,
    anomaly_bounds: Bounds,
) -> None:
    clean = make_setup("clean", account=new_imap_account(), dovecot=dovecot, mornings=ALL_MORNINGS)
    killed = make_setup("killed", account=new_imap_account(), dovecot=dovecot, mornings=ALL_MORNINGS)
    storm_against_clean(clean, killed, seed=20211231, expire=False, bounds=anomaly_bounds)


@pytest.mark.postgres
def test_twenty_kills_on_postgresql_with_a_watched_folder(
    make_setup: SetupFactory, anomaly_bounds: Bounds
) -> None:
    clean = make_setup("clean", database="postgres", mornings=ALL_MORNINGS)
    killed = make_setup("killed", database="postgres", mornings=ALL_MORNINGS)
    storm_against_clean(clean, killed, seed=20220110, expire=True, bounds=anomaly_bounds)
