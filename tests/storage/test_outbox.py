from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from storage import outbox
from storage.engine import session_scope

NOW = datetime(2021, 12, 15, 1, 0, tzinfo=UTC)


def _item(key: str) -> outbox.NewItem:
    return outbox.NewItem(
        key=key,
        audience="emitter",
        channel="telegram",
        recipient="42",
        kind="cancel_ccer",
        body="请注销 CCER",
    )


def test_an_item_is_written_once_under_its_key(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert outbox.enqueue(session, [_item("a"), _item("b")], NOW) == 2
    with session_scope(engine) as session:
        assert outbox.enqueue(session, [_item("a"), _item("c")], NOW) == 1
    assert [i.key for i in outbox.items(engine)] == ["a", "b", "c"]


def test_a_claimed_item_is_not_claimed_again(engine: Engine) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, [_item(str(n)) for n in range(5)], NOW)
    first = outbox.claim(engine, "w1", NOW, limit=3)
    second = outbox.claim(engine, "w2", NOW, limit=10)
    assert [i.key for i in first] == ["0", "1", "2"]
    assert [i.key for i in second] == ["3", "4"]
    assert outbox.claim(engine, "w3", NOW) == []
    assert all(i.state == "sending" and i.attempts == 1 for i in first + second)


def test_a_dead_senders_claim_expires_after_the_lease(engine: Engine) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, [_item("x")], NOW)
    assert len(outbox.claim(engine, "dead", NOW)) == 1
    assert outbox.claim(engine, "alive", NOW + timedelta(seconds=10)) == []
    again = outbox.claim(engine, "alive", NOW + outbox.LEASE + timedelta(seconds=1))
    assert [(i.key, i.claimed_by, i.attempts) for i in again] == [("x", "alive", 2)]


def test_retry_waits_until_its_time_and_gives_up_after_max_attempts_and_hours(engine: Engine) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, [_item("r")], NOW)
    moment, step = NOW, outbox.KEEP_TRYING / (outbox.MAX_ATTEMPTS - 1)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        claimed = outbox.claim(engine, "w", moment)
        assert [i.attempts for i in claimed] == [attempt]
        later = moment + step
        assert outbox.claim(engine, "w", moment) == []
        kept = outbox.mark_retry(engine, claimed[0].id or 0, "429", later)
        assert kept is (attempt < outbox.MAX_ATTEMPTS)
        moment = later
    assert [i.state for i in outbox.items(engine)] == ["failed"]


def test_quick_failures_keep_an_item_until_the_hours_have_passed(engine: Engine) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, [_item("q")], NOW)
    moment = NOW
    for _ in range(outbox.MAX_ATTEMPTS * 2):  # a server down for a while: many quick failures
        [claimed] = outbox.claim(engine, "w", moment)
        moment += timedelta(minutes=1)
        assert outbox.mark_retry(engine, claimed.id or 0, "connection refused", moment)
    assert [i.state for i in outbox.items(engine)] == ["pending"]


def test_sent_items_stay_in_the_ledger(engine: Engine) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, [_item("s")], NOW)
    claimed = outbox.claim(engine, "w", NOW)
    outbox.mark_sent(engine, claimed[0].id or 0, NOW)
    assert outbox.claim(engine, "w", NOW + timedelta(days=1)) == []
    with session_scope(engine) as session:
        assert outbox.exists(session, "s")
        assert outbox.enqueue(session, [_item("s")], NOW) == 0


def test_a_morning_of_items_is_written_in_statements_of_bounded_size_and_counted(engine: Engine) -> None:
    """More items than one statement takes, some of them there already: each new one written once."""
    count = 2 * outbox.ENQUEUE_ROWS + 7
    with session_scope(engine) as session:
        outbox.enqueue(session, [_item(f"k{n:04d}") for n in range(0, count, 3)], NOW)
    with session_scope(engine) as session:
        written = outbox.enqueue(session, [_item(f"k{n:04d}") for n in range(count)], NOW)
    assert written == count - len(range(0, count, 3))
    assert sorted(i.key for i in outbox.items(engine)) == [f"k{n:04d}" for n in range(count)]
