"""What the outbox holds after a message: receipts to trusted senders, warnings to officers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.notices.message import MessageNotices
from mail import intake
from mail.intake import IntakeConfig, Outcome, Told
from storage import access
from storage.engine import session_scope
from storage.models import InboundMessage, OutboxItem, RosterEntry
from storage.outbox import items
from tests.intake_imap.messages import (
    GUANGDONG,
    NOW,
    SHANDONG,
    from_stranger,
    roster_unreadable,
    roster_with_bad_rows,
    sample,
)
from tests.told import notifying


def take(engine: Engine, config: IntakeConfig, raw: bytes, lang: str = "zh") -> tuple[Outcome, int]:
    """Take the message as the service does; how many outbox items it wrote."""
    before = len(items(engine))
    outcome = intake.take(engine, raw, "test", notifying(config, lang), NOW)
    return outcome, len(items(engine)) - before


def bind_officers(engine: Engine) -> None:
    with session_scope(engine) as session:
        access.bind(session, 501, "officer", NOW, province="山东省")
        access.bind(session, 502, "officer", NOW, province="广东省")
        access.bind(session, 503, "officer", NOW, province="*")


def only(engine: Engine) -> OutboxItem:
    [item] = items(engine)
    return item


def test_an_applied_message_gets_a_receipt_by_email(engine: Engine, intake_config: IntakeConfig) -> None:
    outcome, written = take(engine, intake_config, sample("001-roster"))

    item = only(engine)
    assert written == 1
    assert (item.key, item.audience, item.channel, item.recipient, item.kind) == (
        f"sender|email:{SHANDONG}|receipt|{outcome.message_pk}",
        "sender",
        "email",
        SHANDONG,
        "receipt",
    )
    assert item.subject == "回执：山东省2019-2020年度重点排放单位名录"
    assert "类型：重点排放单位名录" in item.body
    assert "结果：已处理" in item.body
    assert "已应用 8 行" in item.body
    assert "2021年10月25日 15:00" in item.body
    assert "未被接受" not in item.body


def test_refused_rows_are_listed_with_their_reasons(engine: Engine, intake_config: IntakeConfig) -> None:
    outcome, _ = take(engine, intake_config, roster_with_bad_rows())

    body = only(engine).body
    assert outcome.outcome == "applied_with_row_errors"
    assert "已应用 1 行" in body
    assert "以下 2 行未被接受" in body
    assert "第 3 行：统一社会信用代码 9137132112TH3BJ195 校验位错误" in body
    assert "第 4 行：2019-2020年度应清缴配额量（吨） -5 为负数" in body


def test_the_english_receipt(engine: Engine, intake_config: IntakeConfig) -> None:
    take(engine, intake_config, roster_with_bad_rows(), lang="en")

    item = only(engine)
    assert item.subject == "Receipt: 山东省2019-2020年度重点排放单位名录（补充）"
    assert "Kind: roster" in item.body
    assert "Result: applied, some rows refused" in item.body
    assert "Rows applied: 1." in item.body
    assert "Row 3: 统一社会信用代码 9137132112TH3BJ195 校验位错误" in item.body


def test_a_trusted_sender_whose_message_is_quarantined_gets_the_reason(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    bind_officers(engine)
    outcome, _ = take(engine, intake_config, roster_unreadable())

    item = only(engine)
    assert outcome.outcome == "quarantined"
    assert item.recipient == SHANDONG
    assert "结果：已隔离" in item.body
    assert f"原因：{outcome.reason}" in item.body
    assert "名录.xlsx" in item.body


def test_an_untrusted_sender_gets_nothing_and_the_named_provinces_officers_are_told(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    bind_officers(engine)
    outcome, written = take(engine, intake_config, from_stranger("001-roster"))

    alerts = items(engine)
    assert written == 2
    assert sorted(i.key for i in alerts) == [
        f"officer|telegram:501|untrusted_mail|{outcome.message_pk}",
        f"officer|telegram:503|untrusted_mail|{outcome.message_pk}",
    ]
    assert {(i.audience, i.channel, i.kind) for i in alerts} == {("officer", "telegram", "untrusted_mail")}
    assert "发件人：someone@mail.example" in alerts[0].body
    assert "主题：山东省2019-2020年度重点排放单位名录" in alerts[0].body
    assert "发件人不在可信名单中" in alerts[0].body


def test_untrusted_mail_naming_its_province_only_in_the_table_goes_to_that_province(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    bind_officers(engine)
    raw = from_stranger("001-roster").replace(b"Subject: =?utf-8?b?5bGx5Lic55yB", b"Subject: =?utf-8?b?")
    take(engine, intake_config, raw)

    assert sorted(i.recipient for i in items(engine)) == ["501", "503"]  # the title row names 山东省


def test_untrusted_mail_naming_no_province_goes_to_national_officers(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    from tests.intake.world import daily_rows, xlsx_mail

    bind_officers(engine)
    rows = daily_rows([("2021-11-25", "某能源有限公司", None, 1, 5_000)])
    take(engine, intake_config, xlsx_mail("someone@mail.example", "CCER注销记录", "2021-11-25T17:40", rows))

    assert [i.recipient for i in items(engine)] == ["503"]


def test_officers_read_the_warning_in_their_language(engine: Engine, intake_config: IntakeConfig) -> None:
    with session_scope(engine) as session:
        access.set_language(session, 504, "en")
        access.bind(session, 504, "officer", NOW, province="山东省")
    take(engine, intake_config, from_stranger("001-roster"))

    assert only(engine).body.startswith("⚠ A message from an untrusted sender was quarantined")


def test_a_superseded_summary_is_acknowledged_as_changing_nothing(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    take(engine, intake_config, sample("001-roster"))
    take(engine, intake_config, sample("005-weekly"))
    outcome, _ = take(engine, intake_config, sample("003-weekly"))

    receipt = items(engine)[-1]
    assert outcome.outcome == "superseded"
    assert "结果：早于已处理的汇总表，未改变数据" in receipt.body
    assert "数据未改变" in receipt.body


def test_a_message_taken_twice_is_answered_once(engine: Engine, intake_config: IntakeConfig) -> None:
    bind_officers(engine)
    take(engine, intake_config, sample("002-roster"))
    take(engine, intake_config, from_stranger("002-roster", "other@mail.example"))

    again, written = take(engine, intake_config, sample("002-roster"))  # same bytes: the same stored row
    resent = sample("002-roster").replace(b"Mon, 25 Oct 2021 15:00:00", b"Mon, 25 Oct 2021 15:30:00")
    by_message_id, written_too = take(engine, intake_config, resent)  # same Message-ID, other bytes

    assert (again.outcome, by_message_id.outcome) == ("duplicate", "duplicate")
    assert (written, written_too) == (0, 0)
    assert [i.recipient for i in items(engine)] == [GUANGDONG, "502", "503"]


def test_the_receipt_is_written_with_the_message_or_not_at_all(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    told = notifying(intake_config)
    calls: list[int] = []

    def failing_once(session: Session, message: InboundMessage, facts: Told, now: datetime) -> None:
        calls.append(message.id or 0)
        if len(calls) == 1:
            raise ConnectionError("the database went away while the receipt was written")
        assert told.notify is not None
        told.notify(session, message, facts, now)

    outcome = intake.take(engine, sample("002-roster"), "test", replace(told, notify=failing_once), NOW)

    assert (outcome.outcome, outcome.rows_applied, len(calls)) == ("applied", 8, 2)
    assert only(engine).key == f"sender|email:{GUANGDONG}|receipt|{outcome.message_pk}"
    with session_scope(engine) as session:
        assert len(session.exec(select(RosterEntry)).all()) == 8  # applied once, though tried twice


def test_a_message_stored_as_trusted_is_answered_whatever_the_notifier_knows(
    engine: Engine, intake_config: IntakeConfig
) -> None:
    notifier = MessageNotices(Settings(cycle="2019-2020"))  # knows no province's senders
    intake.take(engine, sample("001-roster"), "test", replace(intake_config, notify=notifier), NOW)

    assert only(engine).recipient == SHANDONG


def test_auto_replies_are_never_answered(engine: Engine, intake_config: IntakeConfig) -> None:
    bind_officers(engine)
    out_of_office = b"Auto-Submitted: auto-replied\n" + from_stranger("001-roster", "unit@unit371.example")
    bulk = b"Precedence: bulk\n" + sample("002-roster")

    assert take(engine, intake_config, out_of_office)[1] == 0
    assert take(engine, intake_config, bulk)[1] == 0
    assert items(engine) == []
