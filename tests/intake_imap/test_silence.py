"""Officers hear when no mail has come for too long during the cycle."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.notices.silence import silence_alerts
from compliance.cycle import load_cycle
from mail import imap_cursor
from mail.intake import IntakeConfig, take
from mail.silence import last_arrival, silent_since
from storage import access
from storage.engine import session_scope
from storage.outbox import items
from tests.intake_imap.messages import TZ, sample

CYCLE = load_cycle("2019-2020")
OPENS, DEADLINE = CYCLE.window_opens, CYCLE.compliance_deadline
H = timedelta(hours=1)
SETTINGS = Settings(cycle="2019-2020")


def at(day: int, month: int = 11, hour: int = 9) -> datetime:
    return datetime(2021, month, day, hour, 0, tzinfo=TZ)


def check(engine: Engine, now: datetime) -> int:
    with session_scope(engine) as session:
        return silence_alerts(session, SETTINGS, now, window_opens=OPENS, compliance_deadline=DEADLINE)


def test_silence_counts_only_inside_the_window() -> None:
    last = at(1)
    assert silent_since(at(3), last, OPENS, DEADLINE) == last
    assert silent_since(last + 35 * H, last, OPENS, DEADLINE) is None
    assert silent_since(OPENS - H, None, OPENS, DEADLINE) is None
    assert silent_since(DEADLINE + H, at(1, 12), OPENS, DEADLINE) is None


def test_before_any_mail_silence_starts_when_the_window_opens() -> None:
    assert silent_since(OPENS + 35 * H, None, OPENS, DEADLINE) is None
    assert silent_since(OPENS + 36 * H, None, OPENS, DEADLINE) == OPENS
    assert silent_since(OPENS + 36 * H, OPENS - 100 * H, OPENS, DEADLINE) == OPENS


def test_a_shorter_threshold_can_be_configured() -> None:
    assert silent_since(at(1) + 13 * H, at(1), OPENS, DEADLINE, hours=12) == at(1)


def test_every_officer_is_told_once_a_day(engine: Engine, intake_config: IntakeConfig) -> None:
    take(engine, sample("001-roster"), "test", intake_config, at(1))
    with session_scope(engine) as session:
        access.bind(session, 501, "officer", at(1), province="山东省")
        access.bind(session, 503, "officer", at(1), province="*")
        access.bind(session, 601, "emitter", at(1), unit_code="9137132112TH3BJ194")

    assert check(engine, at(2, hour=20)) == 0  # 35 hours
    assert check(engine, at(2, hour=21)) == 2
    assert check(engine, at(2, hour=23)) == 0  # same day
    assert check(engine, at(3, hour=9)) == 2

    alerts = [i for i in items(engine) if i.kind == "intake_silent"]
    assert [a.key for a in alerts] == [
        "officer|telegram:501|intake_silent|2021-11-02",
        "officer|telegram:503|intake_silent|2021-11-02",
        "officer|telegram:501|intake_silent|2021-11-03",
        "officer|telegram:503|intake_silent|2021-11-03",
    ]
    assert alerts[0].body.startswith("⚠ 已有 36 小时没有收到任何邮件（上一封：2021年11月1日 09:00）")
    assert "48 小时" in alerts[2].body


def test_mail_through_imap_counts_as_arrival(engine: Engine) -> None:
    imap_cursor.reset(engine, "bot@imap.example/INBOX", 7, 0)
    imap_cursor.advance(engine, "bot@imap.example/INBOX", 7, 12, at(10))
    with session_scope(engine) as session:
        access.bind(session, 503, "officer", at(1), province="*")
        assert last_arrival(session) == at(10)

    assert check(engine, at(11)) == 0
    assert check(engine, at(12)) == 1


def test_the_alert_in_english(engine: Engine) -> None:
    with session_scope(engine) as session:
        access.set_language(session, 504, "en")
        access.bind(session, 504, "officer", at(1), province="广东省")

    assert check(engine, OPENS + 40 * H) == 1
    assert items(engine)[0].body.startswith(
        "⚠ No mail has arrived for 40 hours, none at all since the application window opened."
    )
