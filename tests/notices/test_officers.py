"""One rule for who hears an officer notice: every channel of the province's officers, group robots
included — in mainland China a group robot may be all the officers have."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.notices.keys import OutboxKey
from bot.notices.message import MessageNotices
from bot.notices.silence import silence_alerts
from compliance.cycle import load_cycle
from mail import intake
from storage import access, outbox
from storage.engine import session_scope
from storage.peer import Peer
from tests.intake.world import CONFIG, LATER, SD, SD_UNITS, at, roster_mail

CYCLE = load_cycle("2019-2020")
WECOM = {"province": "山东省", "kind": "wecom", "url": "http://127.0.0.1:9/wecom", "name": "sd-wecom"}
FEISHU_ALL = {"province": "*", "kind": "feishu", "url": "http://127.0.0.1:9/feishu", "name": "ncsc-feishu"}
GUANGDONG_ONLY = {"province": "广东省", "kind": "dingtalk", "url": "http://127.0.0.1:9/dd", "name": "gd-dd"}


def _settings(**values: object) -> Settings:
    senders = {"ncsc": sorted(CONFIG.senders.ncsc), "provinces": {"山东省": [SD]}}
    groups = [WECOM, FEISHU_ALL, GUANGDONG_ONLY]
    return Settings(cycle="2019-2020", senders=senders, groups=groups, **values)


def _told(engine: Engine, kind: str) -> set[tuple[str, str]]:
    return {(i.channel, i.recipient) for i in outbox.items(engine) if i.kind == kind}


def test_a_province_with_only_group_robots_hears_of_quarantined_mail(sqlite_engine: Engine) -> None:
    notifier = MessageNotices(_settings())
    forged = roster_mail("forger@evil.example", SD_UNITS, "2021-10-25T15:00")

    outcome = intake.take(sqlite_engine, forged, "forged.eml", replace(CONFIG, notify=notifier), LATER)

    assert outcome.outcome == "quarantined"
    # no officer in a chat: the province's address, its group and the national group
    assert _told(sqlite_engine, "untrusted_mail") == {
        ("email", SD),
        ("wecom", "sd-wecom"),
        ("feishu", "ncsc-feishu"),
    }
    [mailed] = [i for i in outbox.items(sqlite_engine) if i.kind == "untrusted_mail" and i.channel == "email"]
    # a province's mailbox is read by officers, not by whoever runs ccerbot: it says whom to ask
    assert "请联系 ccerbot 的管理员" in mailed.body and "ccerbot quarantine" not in mailed.body


def test_officers_in_chats_hear_on_every_platform_and_their_groups_too(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        access.bind(session, Peer("telegram", "501"), "officer", LATER, province="山东省")
        access.bind(session, Peer("feishu", "ou_sd_officer"), "officer", LATER, province="山东省")
        access.bind(session, Peer("dingtalk", "staff-national"), "officer", LATER, province="*")
        access.bind(session, Peer("console", "0"), "officer", LATER, province="山东省")
    notifier = MessageNotices(_settings(officers=[{"telegram_id": 777, "province": "山东省"}]))
    forged = roster_mail("forger@evil.example", SD_UNITS, "2021-10-25T15:00")

    intake.take(sqlite_engine, forged, "forged.eml", replace(CONFIG, notify=notifier), LATER)

    assert _told(sqlite_engine, "untrusted_mail") == {
        ("telegram", "501"),
        ("telegram", "777"),  # configured in [[officers]], not yet bound
        ("feishu_chat", "ou_sd_officer"),
        ("dingtalk_chat", "staff-national"),
        ("wecom", "sd-wecom"),
        ("feishu", "ncsc-feishu"),
    }  # chats exist, so no email; the console reaches nobody


def test_a_silent_intake_reaches_every_province_and_every_group(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        access.bind(session, Peer("telegram", "502"), "officer", LATER, province="广东省")
        written = silence_alerts(
            session,
            _settings(),
            at("2021-11-05T09:00"),
            window_opens=CYCLE.window_opens,
            compliance_deadline=CYCLE.compliance_deadline,
        )

    expected = {
        ("telegram", "502"),  # 广东省 in chat
        ("dingtalk", "gd-dd"),
        ("email", SD),  # 山东省 has nobody in a chat: its address
        ("wecom", "sd-wecom"),
        ("feishu", "ncsc-feishu"),
    }
    assert _told(sqlite_engine, "intake_silent") == expected
    assert written == len(expected)


def test_a_key_reads_back_what_it_was_built_from() -> None:
    key = OutboxKey("officer", "email", "a|b@example.cn", "untrusted_mail", ("2019-2020", "山东省"))

    assert OutboxKey.parse(str(key)) == key
    assert str(key) == "officer|email:a%7Cb@example.cn|untrusted_mail|2019-2020|山东省"
    assert key.target == "山东省"
