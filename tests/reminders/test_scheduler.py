"""The scheduler writes each reminder and alert once, under its key, whatever the restarts and repeats."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot import reports
from bot.config import Settings
from bot.notices.anomalies import enqueue_new_anomalies
from bot.notices.failures import enqueue_delivery_failed
from bot.notices.reminders import enqueue_due
from bot.reports import unit_reports
from bot.scheduler import Scheduler
from compliance.cycle import load_cycle
from compliance.status import unit_status
from storage import access, outbox, state
from storage.engine import make_engine, session_scope
from storage.models import OutboxItem

TZ = ZoneInfo("Asia/Shanghai")
CYCLE = load_cycle("2019-2020")
MORNING = datetime(2021, 12, 15, 9, 0, tzinfo=TZ)
UNIT = "913703082HD1TJ3Y9U"  # 青岛恒信电力有限公司, 山东省: owes cancel_ccer on 2021-12-15
OVER_CAP = {"91371406QA4XFD1Y5B": "山东省", "91440412K02U6KC433": "广东省"}


def bind_unit(engine: Engine, chat_id: int, code: str, lang: str = "zh") -> None:
    with session_scope(engine) as session:
        access.bind(session, chat_id, "emitter", MORNING, unit_code=code)
        access.set_language(session, chat_id, lang)


def bind_officer(engine: Engine, chat_id: int, province: str) -> None:
    with session_scope(engine) as session:
        access.bind(session, chat_id, "officer", MORNING, province=province)


def by_key(engine: Engine) -> dict[str, OutboxItem]:
    return {i.key: i for i in outbox.items(engine)}


def test_one_item_per_recipient_under_its_documented_key(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    bind_unit(sample_engine, 4242, UNIT)
    done = enqueue_due(sample_engine, sample_settings, CYCLE, MORNING)
    assert done.new == len(done.keys) == 4  # two officers' mailboxes, one chat, one contact address
    items = by_key(sample_engine)
    chat = items[f"emitter|telegram:4242|cancel_ccer|2019-2020|2021-12-15|{UNIT}"]
    assert chat.body.startswith("<b>【履约提醒】青岛恒信电力有限公司</b>")
    officer = items["officer|email:ccer@sthj.shandong.example|target_95|2019-2020|2021-12-15|山东省"]
    assert officer.subject == "【CCER 履约通知】95% 履约目标检查 — 山东省"
    assert "已完成履约 4/8 家" in officer.body and "<b>" not in officer.body
    mailed = [i for i in items.values() if i.audience == "emitter" and i.channel == "email"]
    assert [i.key.rsplit("|", 1)[1] for i in mailed] == ["91440923DBMWCY74XP"]
    assert mailed[0].body.startswith("您好：") and "/bind" in mailed[0].body


def test_writing_again_or_from_another_instance_writes_nothing(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    first = enqueue_due(sample_engine, sample_settings, CYCLE, MORNING)
    again = enqueue_due(sample_engine, sample_settings, CYCLE, MORNING.replace(hour=11))
    assert (first.new, again.new, again.keys) == (4, 0, first.keys)
    assert len(outbox.items(sample_engine)) == 4


def test_a_restart_after_the_slot_writes_what_is_missing_and_nothing_twice(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    clock = [MORNING.replace(hour=8)]
    scheduler = Scheduler(sample_engine, sample_settings, CYCLE, clock=lambda: clock[0])
    scheduler.tick()
    assert [i.kind for i in outbox.items(sample_engine)] == [
        k for k in ["offset_over_cap"] * 2
    ]  # anomalies only
    clock[0] = MORNING
    assert scheduler.tick() == 4
    assert scheduler.tick() == 0
    restarted = Scheduler(sample_engine, sample_settings, CYCLE, clock=lambda: MORNING.replace(hour=10))
    assert restarted.tick() == 0
    assert len(outbox.items(sample_engine)) == 6


def test_a_reminder_whose_deadline_has_passed_is_not_written(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    evening = MORNING.replace(hour=17, minute=30)
    assert enqueue_due(sample_engine, sample_settings, CYCLE, evening).keys == []


def test_a_national_officer_hears_of_each_province_separately(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    national = Settings(
        **{**sample_settings.model_dump(), "officers": [{"telegram_id": 9001, "province": "*"}]},
    )
    enqueue_due(sample_engine, national, CYCLE, MORNING)
    chats = sorted(k for k in by_key(sample_engine) if k.startswith("officer|telegram:9001|"))
    assert chats == [
        "officer|telegram:9001|target_95|2019-2020|2021-12-15|山东省",
        "officer|telegram:9001|target_95|2019-2020|2021-12-15|广东省",
    ]


def test_each_anomaly_is_alerted_once_per_officer(sample_engine: Engine, sample_settings: Settings) -> None:
    now = MORNING
    assert enqueue_new_anomalies(sample_engine, sample_settings, CYCLE, now) == 2
    assert enqueue_new_anomalies(sample_engine, sample_settings, CYCLE, now) == 0
    bind_officer(sample_engine, 7001, "广东省")  # now 广东省 has a chat: it gets the alert there
    assert enqueue_new_anomalies(sample_engine, sample_settings, CYCLE, now) == 1
    keys = sorted(by_key(sample_engine))
    assert keys == [
        "officer|email:ccer@sthj.shandong.example|offset_over_cap|2019-2020|91371406QA4XFD1Y5B",
        "officer|email:tanjiaoyi@gdee.guangdong.example|offset_over_cap|2019-2020|91440412K02U6KC433",
        "officer|telegram:7001|offset_over_cap|2019-2020|91440412K02U6KC433",
    ]
    chat = by_key(sample_engine)[keys[-1]]
    assert "申请或确认的抵销量超过应清缴配额量的 5%" in chat.body and "91440412K02U6KC433" in chat.body


def test_a_failed_chat_reminder_is_reported_to_officers_by_email(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    bind_unit(sample_engine, 4242, UNIT)
    bind_officer(sample_engine, 7001, "山东省")
    enqueue_due(sample_engine, sample_settings, CYCLE, MORNING)
    failed = by_key(sample_engine)[f"emitter|telegram:4242|cancel_ccer|2019-2020|2021-12-15|{UNIT}"]
    reason = "RecipientBlocked: Forbidden: bot was blocked by the user"
    keys = enqueue_delivery_failed(sample_engine, sample_settings, CYCLE, failed, reason, MORNING)
    assert keys == [f"officer|email:ccer@sthj.shandong.example|delivery_failed|2019-2020|{failed.id}|{UNIT}"]
    alert = by_key(sample_engine)[keys[0]]
    assert "青岛恒信电力有限公司" in alert.body and "屏蔽" in alert.body
    assert alert.subject.startswith("【CCER 履约通知】投递失败")
    # a failed alert is not reported again, and reporting twice writes nothing new
    assert enqueue_delivery_failed(sample_engine, sample_settings, CYCLE, alert, "x", MORNING) == []
    assert enqueue_delivery_failed(sample_engine, sample_settings, CYCLE, failed, reason, MORNING) == keys
    assert len(outbox.items(sample_engine)) == 5  # four reminders and one alert


def test_a_failed_mail_to_an_officer_is_reported_to_the_provinces_chats(
    sample_engine: Engine, sample_settings: Settings
) -> None:
    bind_officer(sample_engine, 7001, "广东省")
    enqueue_new_anomalies(sample_engine, sample_settings, CYCLE, MORNING)
    sd = by_key(sample_engine)[
        "officer|email:ccer@sthj.shandong.example|offset_over_cap|2019-2020|91371406QA4XFD1Y5B"
    ]
    assert (
        enqueue_delivery_failed(sample_engine, sample_settings, CYCLE, sd, "PermanentError: 550", MORNING)
        == []
    )
    sd_chat = Settings(
        **{**sample_settings.model_dump(), "officers": [{"telegram_id": 9001, "province": "山东省"}]},
    )
    keys = enqueue_delivery_failed(sample_engine, sd_chat, CYCLE, sd, "PermanentError: 550", MORNING)
    assert keys == [f"officer|telegram:9001|delivery_failed|2019-2020|{sd.id}|91371406QA4XFD1Y5B"]


def test_contact_addresses_come_from_the_rosters(sample_engine: Engine) -> None:
    reports = {r.code: r for r in unit_reports(sample_engine, CYCLE, MORNING)}
    assert reports["91440923DBMWCY74XP"].contact_email


def test_every_units_report_read_a_few_units_at_a_time_is_the_same_as_read_at_once(
    sample_engine: Engine,
    sample_settings: Settings,
    sample_db_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """unit_reports over every unit reads their facts REPORTS_AT_ONCE units at a time (1,000: here 3,
    so that the sample's units take several reads): the same reports, in the same order, as facts_at
    over every unit at once; and the same alerts and reminders written from them, in the same order."""

    def written(engine: Engine) -> list[str]:
        enqueue_new_anomalies(engine, sample_settings, CYCLE, MORNING)
        enqueue_due(engine, sample_settings, CYCLE, MORNING)
        return [i.key for i in outbox.items(engine)]

    with session_scope(sample_engine) as session:
        at_once = [
            (f.code, f.province, known.contact_email, unit_status(f, CYCLE, MORNING))
            for known, f in state.facts_at(session, MORNING)
        ]
    in_one_read = written(sample_engine)
    monkeypatch.setattr(reports, "REPORTS_AT_ONCE", 3)
    assert len(at_once) > 3 * 2
    chunked = unit_reports(sample_engine, CYCLE, MORNING)
    assert [(r.code, r.province, r.contact_email, r.status) for r in chunked] == at_once
    copy = tmp_path / "again.db"
    shutil.copy(sample_db_file, copy)
    again = make_engine(f"sqlite:///{copy}")
    assert written(again) == in_one_read and in_one_read
    again.dispose()
