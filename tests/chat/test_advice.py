"""What the chat advises at the moments that matter: the calendar's marks, contacts, the words people type."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.chat.core import parse_text
from bot.config import Settings
from bot.console import console_chat
from bot.context import AppContext
from storage.engine import session_scope
from storage.models import InboundMessage
from tests.chat.conftest import Ask, buttons, emitter, officer, words
from tests.chat.data import NOW, SHANDONG, TZ, Cast, add_units, message

DEC_16 = datetime(2021, 12, 16, 9, tzinfo=TZ)
JAN_2 = datetime(2022, 1, 2, 9, tzinfo=TZ)


def line_of(text: str, date: str) -> str:
    return next(line for line in text.splitlines() if date in line)


def test_the_calendar_marks_a_missed_cancellation_deadline_and_what_follows(chat: Ask, story: Cast) -> None:
    text = words(chat(11, "/deadlines", emitter(story.applied), now=DEC_16))
    assert line_of(text, "2021年12月15日 17:00").startswith("✘")
    assert "截止前注销 600 吨，可用于抵销；其余 400 吨不能再注销，须以配额清缴" in text
    assert line_of(text, "2021年12月10日 17:00").startswith("✔️")  # it applied in time
    assert line_of(text, "2021年10月26日").startswith("▪️")  # the window opening is no unit's deadline


def test_the_calendar_marks_met_deadlines_met_and_others_not_applicable(chat: Ask, story: Cast) -> None:
    complied = words(chat(11, "/deadlines", emitter(story.complied), now=JAN_2))
    assert line_of(complied, "2021年12月15日 17:00").startswith("✔️")
    assert line_of(complied, "2021年12月31日 17:00").startswith("✔️")
    silent = words(chat(11, "/deadlines", emitter(story.silent), now=JAN_2))
    assert line_of(silent, "2021年12月10日 17:00").startswith("➖")
    assert line_of(silent, "2021年12月15日 17:00").startswith("➖")
    assert line_of(silent, "2021年12月31日 17:00").startswith("✘")
    assert "《碳排放权交易管理办法（试行）》" in silent and "2022年1月15日" in silent


def test_the_calendar_in_english(chat: Ask, story: Cast) -> None:
    who = emitter(story.applied)
    chat(11, "/lang en", who)
    text = words(chat(11, "/deadlines", who, now=DEC_16))
    assert "600 t cancelled in time" in text and "the other 400 t" in text


def test_contacts_are_the_notices_with_their_phone_numbers(chat: Ask, story: Cast) -> None:
    text = words(chat(500, "/contacts"))  # public: an unbound chat may ask too
    for expected in (
        "湖北碳排放权交易中心",
        "400-991-1188",
        "上海环境能源交易所",
        "北京绿色交易所",
        "(010) 82268464",
    ):
        assert expected in text
    assert "/contacts" in words(chat(500, "/help"))
    chat(501, "/lang en")
    assert "400-991-1188 ext. 0" in words(chat(501, "/contacts"))
    assert "/contacts" in words(chat(11, "/help", emitter(story.applied)))


def test_a_national_officer_sees_every_province_sorted_by_rate(chat: Ask, story: Cast) -> None:
    reply = chat(30, "/national", officer("*", 30))
    text = words(reply)
    assert text.index("广东省") < text.index("山东省")  # 0 % before 20 %
    assert "1/5" in text and "0/1" in text and "还剩 6 天 8 小时" in text
    assert ("广东省", "overview|广东省") in buttons(reply)
    assert ("🏁 各省排名", "national") in buttons(chat(30, "/overview 广东省", officer("*", 30)))
    assert ("🏁 各省排名", "national") not in buttons(chat(21, "/overview", officer()))


def test_a_provincial_officer_is_refused_the_national_view(chat: Ask, story: Cast) -> None:
    text = words(chat(21, "/national", officer()))
    assert "仅供全国主管部门" in text and "广东" not in text


def test_an_officer_sees_a_units_history_with_the_message_of_each_fact(chat: Ask, story: Cast) -> None:
    text = words(chat(21, f"/unit {story.applied}", officer()))
    history = text[text.index("经过") :]
    for expected in (
        "2021年12月3日　提交 CCER 抵销申请 1,000 吨",
        "2021年12月3日　申请经确认 1,000 吨",
        "2021年12月6日 10:00　注销 CCER 600 吨",
        "2021年11月1日　名录：未完成履约",
    ):
        assert expected in history
    assert history.index("名录：未完成履约") < history.index("提交 CCER") < history.index("注销 CCER")
    assert "来自：（无主题）（#" in history
    complied = words(chat(21, f"/unit {story.complied}", officer()))
    assert "2021年12月8日　名录：已完成履约" in complied


def test_a_units_history_is_what_was_known_at_the_instant(chat: Ask, story: Cast) -> None:
    text = words(chat(21, f"/unit {story.applied}", officer(), now=datetime(2021, 12, 4, 9, tzinfo=TZ)))
    history = text[text.index("经过") :]
    assert "申请经确认" in history and "注销 CCER" not in history


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("我还要注销多少", "status"),
        ("我还要注销多少？", "status"),
        ("还差多少", "status"),
        ("什么时候截止", "deadlines"),
        ("什么时候截止啊？", "deadlines"),
        ("注销的联系电话是多少", "contacts"),
        ("How much is left?", "status"),
    ],
)
def test_questions_as_people_type_them(typed: str, command: str) -> None:
    assert parse_text(typed) == (command, ())


def test_a_question_gets_its_answer_not_a_shrug(chat: Ask, story: Cast) -> None:
    text = words(chat(11, "我还要注销多少", emitter(story.applied)))
    assert "尚需注销：400 吨" in text and "没有听懂" not in text
    assert "95% 目标" in words(chat(21, "还差多少", officer()))
    assert "2021年12月15日 17:00" in words(chat(11, "什么时候截止", emitter(story.applied)))


def test_a_mistyped_command_gets_the_nearest_one_with_a_button(chat: Ask, story: Cast) -> None:
    reply = chat(11, "/stauts", emitter(story.applied))
    assert "您是不是要发送 /status" in words(reply) and "没有听懂" not in words(reply)
    assert buttons(reply) == [("/status", "status")]
    assert "/deadlines" in words(chat(11, "/dedlines", emitter(story.applied)))
    assert "/pending" in words(chat(21, "/pendign", officer()))
    assert "没有听懂" in words(chat(11, "/xyzzyq", emitter(story.applied)))  # nothing near: a hint
    assert "/unit" not in words(chat(11, "/unti", emitter(story.applied)))  # not one an emitter may use
    assert "/unit" in words(chat(21, "/unti", officer()))


@pytest.mark.parametrize("typed", ["cancel_ccer", "待注销 CCER", "待注销CCER (1)", "to cancel CCER"])
def test_pending_accepts_the_labels_it_shows(chat: Ask, story: Cast, typed: str) -> None:
    text = words(chat(21, f"/pending {typed}", officer()))
    assert "华能济宁电厂" in text and "日照" not in text


def test_unit_by_its_full_name_when_another_name_contains_it(
    sqlite_engine: Engine, chat: Ask, story: Cast
) -> None:
    add_units(
        sqlite_engine, SHANDONG, 11
    )  # 测试单位000 … 测试单位010: "测试单位001" is in "测试单位010"? no,
    add_units(sqlite_engine, SHANDONG, 1, first=2000)  # but 测试单位000 of this roster holds "测试单位00"
    text = words(chat(21, "/unit 测试单位001", officer()))
    assert "应清缴配额量：100,001 吨" in text
    listing = words(chat(21, "/unit 测试单位00", officer()))
    assert "测试单位009" in listing and "应清缴配额量" not in listing


def test_the_console_acts_as_a_unit_named(sqlite_engine: Engine, story: Cast, tmp_path: Path) -> None:
    ctx = AppContext(
        Settings(cycle="2019-2020", database_url=sqlite_engine.url.render_as_string(hide_password=False))
    )
    out = StringIO()
    lines = "/as 山东日照发电有限公司\n/status\n/as 热电\n"
    console_chat(ctx, stdin=StringIO(lines), stdout=out, now=NOW, files=tmp_path)
    text = out.getvalue()
    assert f"现在以 山东日照发电有限公司（{story.pending}）的身份提问" in text
    assert "等待省级生态环境主管部门确认申请" in text or "申请抵销量：50,000 吨" in text
    assert "有多家单位与“热电”相符" in text and f"/as {story.over_cap}" in text


def test_a_unit_that_never_applied_reads_as_using_no_ccer(chat: Ask, story: Cast) -> None:
    text = words(chat(11, "/status", emitter(story.silent)))
    assert "CCER 抵销申请：未使用 CCER 抵销" in text and "未申请" not in text


def test_quarantine_is_on_the_replays_clock(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    with session_scope(sqlite_engine) as session:  # taken in today, dated in the cycle
        pk = message(session, "unknown", SHANDONG, datetime(2026, 12, 4, 9, tzinfo=TZ), "quarantined", "坏表")
        row = session.get(InboundMessage, pk)
        assert row is not None
        row.sent_at = datetime(2021, 12, 8, 16, 30, tzinfo=TZ)
    on_the_8th = words(chat(21, "/quarantine", officer(), now=datetime(2021, 12, 8, 9, tzinfo=TZ)))
    assert "坏表" not in on_the_8th  # it had not come yet
    on_the_9th = words(chat(21, "/quarantine", officer()))
    assert "2021年12月8日 16:30" in on_the_9th and "2026" not in on_the_9th
    assert "被隔离的邮件：2 封" in words(chat(21, "/overview", officer()))
