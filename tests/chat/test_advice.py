"""What the chat advises at the moments that matter: the calendar's marks, contacts, the words people type."""

from __future__ import annotations

from datetime import datetime

from tests.chat.conftest import Ask, buttons, emitter, officer, words
from tests.chat.data import TZ, Cast

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
    assert "/contacts" in words(chat(11, "/help", emitter(story.applied)))


def test_a_national_officer_sees_every_province_sorted_by_rate(chat: Ask, story: Cast) -> None:
    reply = chat(30, "/national", officer("*", 30))
    text = words(reply)
    assert text.index("广东省") < text.index("山东省")  # 0 % before 20 %
    assert "1/5" in text and "0/1" in text and "还剩 6 天 8 小时" in text
    assert ("广东省", "overview|广东省") in buttons(reply)


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
