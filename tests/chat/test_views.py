"""The views as both transports see them: who may see what, and what they are told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.chat import keyboards
from bot.chat.commands import VIEWS
from bot.chat.core import parse_text
from storage import access, outbox
from storage.engine import session_scope
from tests.chat.conftest import Ask, buttons, emitter, officer, words
from tests.chat.data import GUANGDONG, NOW, SHANDONG, Cast

OFFICER_VIEWS = (
    "overview",
    "pending",
    "unit",
    "anomalies",
    "unmatched",
    "quarantine",
    "export",
    "chart",
    "national",
)


def test_reading_what_people_type() -> None:
    assert parse_text("/pending@ccerbot cancel_ccer 2") == ("pending", ("cancel_ccer", "2"))
    assert parse_text(" 状态 ") == ("status", ())
    assert parse_text("我的状态？") == ("status", ())
    assert parse_text("Status") == ("status", ())
    assert parse_text("进度") == ("status", ())
    assert parse_text("/nonsense") == ("nonsense", ())
    assert parse_text("早上好") == ("unknown", ("早上好",))


@pytest.mark.parametrize(
    "command", sorted(set(VIEWS) - {"start", "help", "bind", "unbind", "lang", "contacts"})
)
def test_an_unbound_chat_sees_nothing_but_how_to_bind(chat: Ask, story: Cast, command: str) -> None:
    reply = chat(500, f"/{command} {SHANDONG}")
    text = words(reply)
    assert "/bind" in text
    assert reply.attachment is None and reply.keyboard == ()
    for secret in ("华能", "山东", "400,000", story.email):
        assert secret not in text


@pytest.mark.parametrize("command", OFFICER_VIEWS)
def test_an_emitter_is_politely_refused_officer_views(chat: Ask, story: Cast, command: str) -> None:
    reply = chat(11, f"/{command} {SHANDONG}", emitter(story.applied))
    assert "仅供主管部门" in words(reply)
    assert reply.attachment is None
    assert "日照" not in words(reply)


def test_an_emitter_sees_its_own_unit(chat: Ask, story: Cast) -> None:
    text = words(chat(11, "状态", emitter(story.applied)))
    for expected in (
        "华能济宁电厂 <A&B>",
        "400,000 吨",
        "20,000 吨",
        "确认抵销量：1,000 吨",
        "已注销 CCER：600 吨",
        "尚需注销：400 吨",
        "未完成履约",
        "注销经确认的 CCER",
        "2021年12月15日 17:00",
        "还剩 6 天 8 小时",
    ):
        assert expected in text
    assert "日照" not in text and "青岛" not in text


def test_status_is_escaped_for_telegram(chat: Ask, story: Cast) -> None:
    reply = chat(11, "/status", emitter(story.applied))
    assert "<b>华能济宁电厂 &lt;A&amp;B&gt;</b>" in reply.text


def test_an_emitter_is_told_about_its_anomalies(chat: Ask, story: Cast) -> None:
    assert "超过应清缴配额量的 5%" in words(chat(12, "/status", emitter(story.over_cap)))


def test_the_calendar_shows_what_the_unit_has_done(chat: Ask, story: Cast) -> None:
    text = words(chat(11, "/deadlines", emitter(story.applied)))
    assert "▪️ 2021年10月26日" in text  # passed, and no deadline of the unit
    assert "本单位：已注销 600 吨 / 确认 1,000 吨" in text
    assert "2022年1月15日　" in text  # a day, not an instant


def test_a_unit_not_on_any_roster_yet(chat: Ask, story: Cast) -> None:
    text = words(chat(11, "/status", emitter(story.applied), now=NOW.replace(month=10, day=1)))
    assert "还没有这家单位的数据" in text


def test_the_overview_counts_against_the_targets(chat: Ask, story: Cast) -> None:
    reply = chat(21, "/overview", officer())
    text = words(reply)
    for expected in (
        "重点排放单位 5 家，已完成履约 1 家，完成率 20.0%",
        "95% 目标",
        "还差 4 家",
        "还剩 6 天 8 小时",
        "待确认申请：2 家",
        "待注销 CCER：1 家",
        "异常：1 项",
        "未匹配到单位的注销记录：1 条",
        "被隔离的邮件：1 封",
    ):
        assert expected in text
    assert ("📥 导出 Excel", f"export|{SHANDONG}") in buttons(reply)


def test_an_officer_asking_status_gets_the_overview(chat: Ask, story: Cast) -> None:
    assert "履约概况" in words(chat(21, "进度", officer()))


def test_a_provincial_officer_never_sees_another_province(chat: Ask, story: Cast) -> None:
    for text in (
        f"/overview {GUANGDONG}",
        f"/pending {GUANGDONG} submit_application",
        f"/export {GUANGDONG}",
        "/unit 广州",
        f"/unit {story.canton}",
        f"/anomalies {GUANGDONG}",
    ):
        reply = chat(21, text, officer())
        assert "珠江" not in words(reply) and "900,000" not in words(reply), text
        assert reply.attachment is None or b"900000" not in reply.attachment.data
    # Another province's unit is answered exactly as a unit that does not exist.
    assert words(chat(21, f"/unit {story.canton}", officer())) == f"没有找到与“{story.canton}”相符的单位。"


def test_a_national_officer_picks_a_province(chat: Ask, story: Cast) -> None:
    national = officer("*", chat_id=31)
    reply = chat(31, "/overview", national)
    assert buttons(reply) == [(SHANDONG, f"overview|{SHANDONG}"), (GUANGDONG, f"overview|{GUANGDONG}")]
    assert "重点排放单位 1 家" in words(chat(31, f"/overview {GUANGDONG}", national))
    assert "广州珠江电厂" in words(chat(31, "/unit 珠江", national))


def test_pending_by_step_lists_the_units(chat: Ask, story: Cast) -> None:
    summary = chat(21, "/pending", officer())
    assert ("待确认申请 (2)", f"pending|{SHANDONG}|await_confirmation") in buttons(summary)
    listed = words(chat(21, "/pending await_confirmation", officer()))
    assert "山东日照发电有限公司" in listed and "青岛热电集团" in listed and "华能" not in listed


def test_long_lists_are_paged(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    from tests.chat.data import add_units

    add_units(sqlite_engine, SHANDONG, 45)
    first = chat(21, "/pending submit_application", officer())
    assert "第 1/3 页" in words(first)
    assert ("下一页 ▶", f"pending|{SHANDONG}|submit_application|2") in buttons(first)
    third = chat(21, f"/pending {SHANDONG} submit_application 3", officer())
    assert "第 3/3 页" in words(third) and "46." in words(third)


def test_units_by_name_fragment(chat: Ask, story: Cast) -> None:
    several = chat(21, "/unit 电", officer())
    assert ("青岛热电集团", f"unit|{story.over_cap}") in buttons(several)
    one = words(chat(21, f"/unit {story.applied}", officer()))
    assert "联系人邮箱：" + story.email in one
    assert "没有找到" in words(chat(21, "/unit 不存在的公司", officer()))


def test_anomalies_unmatched_and_quarantine(chat: Ask, story: Cast) -> None:
    assert "青岛热电集团" in words(chat(21, "/anomalies", officer()))
    assert "某某新能源有限公司　3,000 吨" in words(chat(21, "/unmatched", officer()))
    mine = words(chat(21, "/quarantine", officer()))
    assert "附件无法读取" in mine and "陌生人" not in mine
    assert "陌生人" in words(chat(31, "/quarantine", officer("*", 31)))


def test_every_button_fits_telegram(chat: Ask, story: Cast) -> None:
    national = officer("*", chat_id=31)
    for text in ("/overview 山东省", "/pending 山东省", "/anomalies 山东省", "/unit 电", "/overview"):
        for _, data in buttons(chat(31, text, national)):
            assert len(data.encode()) <= keyboards.MAX_DATA


def test_binding_with_a_one_time_code(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="emitter", unit_code=story.pending, now=NOW)
    bound = chat(40, f"/bind {plain.lower()}")
    assert "绑定成功：山东日照发电有限公司" in words(bound)
    assert "山东日照发电有限公司" in words(chat(40, "状态"))
    again = chat(41, f"/bind {plain}")
    assert "绑定码无效、已使用或已过期" in words(again)
    assert "/bind" in words(chat(41, "/status"))


def test_an_officer_code_binds_to_the_province(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="officer", province=SHANDONG, now=NOW)
    assert "山东省主管部门" in words(chat(42, f"/bind {plain}"))
    assert "履约概况" in words(chat(42, "/overview"))
    assert "已解除绑定" in words(chat(42, "/unbind"))
    assert "/bind" in words(chat(42, "/overview"))
    assert "没有绑定" in words(chat(42, "/unbind"))


def test_an_expired_code_is_refused_like_a_wrong_one(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="emitter", unit_code=story.pending, now=NOW - timedelta(days=2))
    assert words(chat(43, f"/bind {plain}")) == words(chat(44, "/bind ZZZZZZZZ"))


def test_guessing_is_throttled(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="emitter", unit_code=story.pending, now=NOW)
    for n in range(access.MAX_FAILURES_PER_HOUR):
        assert "无效" in words(chat(45, f"/bind WRONG{n:03d}"))
    assert "尝试次数过多" in words(chat(45, f"/bind {plain}"))
    assert "绑定成功" in words(chat(45, f"/bind {plain}", now=NOW + timedelta(hours=1, minutes=1)))


def test_binding_by_credit_code_mails_a_code(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    reply = words(chat(46, f"/bind {story.applied.lower()}"))
    assert "如果该单位在名录中登记了邮箱" in reply and "@" not in reply  # the same words for any code
    [item] = outbox.items(sqlite_engine)
    assert (item.channel, item.recipient, item.kind, item.audience) == (
        "email",
        story.email,
        "bind_code",
        "emitter",
    )
    assert item.key.startswith(f"emitter|email:{story.email}|bind_code|{story.applied}|")
    plain = item.body.split("/bind ")[1].split()[0]
    assert plain not in item.key
    assert "绑定成功：华能济宁电厂" in words(chat(46, f"/bind {plain}"))


def test_binding_by_credit_code_reveals_nothing_without_an_address(
    sqlite_engine: Engine, chat: Ask, story: Cast
) -> None:
    from compliance.creditcode import make_code

    silent = words(chat(47, f"/bind {story.silent}"))
    unknown = words(chat(48, f"/bind {make_code('91110000MA9999999')}"))
    assert silent == unknown and "如果该单位在名录中登记了邮箱" in silent
    assert outbox.items(sqlite_engine) == []


def test_mailing_codes_is_throttled_too(sqlite_engine: Engine, chat: Ask, story: Cast) -> None:
    answers = {words(chat(60 + n, f"/bind {story.applied}")) for n in range(4)}
    assert len(answers) == 1  # mailed or held back, the chat is told the same
    assert len(outbox.items(sqlite_engine)) == 3  # the address had enough mail this hour


def test_the_language_is_the_chats_choice(chat: Ask, story: Cast) -> None:
    assert "用法" in words(chat(11, "/lang fr", emitter(story.applied)))
    assert "Switched to English" in words(chat(70, "/lang en"))
    assert "This chat is not bound" in words(chat(70, "/status"))
    assert "Allowances due: 400,000 t" in words(chat(70, "/status", emitter(story.applied, 70)))
    assert "已切换为中文" in words(chat(70, "/lang zh"))


def test_unknown_words_get_a_hint(chat: Ask, story: Cast) -> None:
    assert "/start" in words(chat(80, "早上好"))
    assert "“我还要注销多少”" in words(chat(11, "/foo", emitter(story.applied)))
