"""The first cycle's rule table, a test per rule, each quoting the sentence of the notice it follows.

Each test builds a unit in one state and asks at concrete instants of the 2019-2020 cycle, so a rule that
drifts from the notice fails here, not in an emitter's inbox.
"""

from __future__ import annotations

from datetime import date

import pytest

from compliance.advice import MOMENTS, Procedure, load_procedure, moment_of, parse_procedure
from compliance.cycle import load_cycle
from compliance.status import UnitStatus, unit_status
from compliance.tomlfields import CycleError
from tests.compliance.builders import at, cancelled, facts, line

FIRST = load_cycle("2019-2020")
WINDOW_OPEN = at(2021, 11, 20)
WINDOW_CLOSED = at(2021, 12, 13)  # after the 12-10 17:00 window, before the 12-15 17:00 cancellation deadline
OFFSET_CLOSED = at(2021, 12, 16)
OVERDUE = at(2022, 1, 4)
CAP = 50_000  # 5 % of the builders' 1,000,000 t


def status(when_: object, **kwargs: object) -> UnitStatus:
    return unit_status(facts(**kwargs), FIRST, when_)  # type: ignore[arg-type]


def test_moments_split_the_cycle_at_its_deadlines() -> None:
    assert moment_of(FIRST, at(2021, 12, 10, 16, 59)) == "window_open"
    assert moment_of(FIRST, at(2021, 12, 10, 17)) == "window_closed"
    assert moment_of(FIRST, at(2021, 12, 15, 17)) == "offset_closed"
    assert moment_of(FIRST, at(2021, 12, 31, 17)) == "overdue"


def test_every_state_and_moment_is_decided_once() -> None:
    table = load_procedure("cancellation")
    for state in table.states:
        for moment in MOMENTS:
            assert table.rule_for(state, moment).source


def test_a_table_with_a_gap_is_refused() -> None:
    text = (
        'procedure = "x"\nstates = ["complied"]\n'
        '[[rule]]\nstate = "complied"\nmoments = ["window_open"]\nstep = "done"\nsource = "正文二"\n'
    )
    with pytest.raises(CycleError, match="window_closed"):
        parse_procedure(text)


def test_a_table_deciding_twice_is_refused() -> None:
    moments = '["window_open", "window_closed", "offset_closed", "overdue"]'
    rule = f'[[rule]]\nstate = "complied"\nmoments = {moments}\nstep = "done"\nsource = "a"\n'
    text = f'procedure = "x"\nstates = ["complied"]\n{rule}{rule}'
    with pytest.raises(CycleError, match="2 条"):
        parse_procedure(text)


def test_complied_is_done_at_any_moment() -> None:
    """正文二：12 月 31 日 17 点前全部重点排放单位完成履约。"""
    for when in (WINDOW_OPEN, OFFSET_CLOSED, OVERDUE):
        s = status(when, complied=True, lines=(line(100, "pending"),))
        assert (s.next_step, s.next_deadline, s.overdue) == ("done", None, False)


def test_no_application_while_the_window_is_open_is_invited_not_ordered() -> None:
    """正文三：组织有意愿使用……CCER 抵销碳排放配额清缴的重点排放单位……；附件 1 第三步：于 2021 年 10 月 26 日
    至 2021 年 12 月 10 日，向所属省级生态环境主管部门提交申请表。"""
    s = status(WINDOW_OPEN)
    assert (s.next_step, s.next_deadline, s.advice) == (
        "submit_application",
        FIRST.window_closes,
        "optional_offset",
    )
    assert s.to_surrender_t == 1_000_000


def test_no_application_after_the_window_surrenders_allowances() -> None:
    """附件 1 第三步：申请表于 2021 年 12 月 10 日前提交；正文二：12 月 31 日 17 点前全部完成履约。"""
    s = status(WINDOW_CLOSED)
    assert (s.next_step, s.next_deadline) == ("surrender_allowances", FIRST.compliance_deadline)


def test_rejected_while_the_window_is_open_may_submit_again() -> None:
    """附件 1 第四步：……进行确认……并将确认结果反馈至重点排放单位。（申请期内可修改后重新提交。）"""
    s = status(WINDOW_OPEN, lines=(line(60_000, "rejected"),))
    assert (s.next_step, s.next_deadline, s.advice) == ("submit_application", FIRST.window_closes, "resubmit")


def test_rejected_after_the_window_surrenders_allowances() -> None:
    """附件 1 第三步：申请表于 2021 年 10 月 26 日至 2021 年 12 月 10 日提交。"""
    s = status(WINDOW_CLOSED, lines=(line(60_000, "rejected"),))
    assert (s.next_step, s.next_deadline) == ("surrender_allowances", FIRST.compliance_deadline)


def test_pending_waits_for_the_province_until_the_cancellation_deadline() -> None:
    """附件 1 第四步：省级生态环境主管部门收到《申请表》后……进行确认……并将确认结果反馈至重点排放单位。"""
    s = status(WINDOW_CLOSED, lines=(line(40_000, "pending"),))
    assert (s.next_step, s.next_deadline) == ("await_confirmation", FIRST.cancellation_deadline)


def test_pending_after_the_cancellation_deadline_is_no_dead_end() -> None:
    """附件 1 第五步：重点排放单位在 2021 年 12 月 15 日 17 点前……按照经确认的《申请表》，注销……CCER。"""
    s = status(OFFSET_CLOSED, lines=(line(40_000, "pending"),))
    assert (s.next_step, s.next_deadline) == ("surrender_allowances", FIRST.compliance_deadline)
    assert s.advice == "pending_too_late"


def test_confirmed_cancels_before_the_deadline_and_sends_the_screenshot() -> None:
    """附件 1 第五步：在 2021 年 12 月 15 日 17 点前使用……“自愿注销”功能……注销……；应及时向所属省级生态环境
    主管部门提交……注销操作的截图（打印并加盖公章）。"""
    s = status(WINDOW_CLOSED, lines=(line(40_000),), cancellations=(cancelled(10_000),))
    assert (s.next_step, s.next_deadline) == ("cancel_ccer", FIRST.cancellation_deadline)
    assert (s.to_cancel_t, s.advice) == (30_000, "cancel_then_screenshot")
    assert s.to_surrender_t == 1_000_000 - 40_000


def test_no_cancellation_after_the_deadline_with_some_cancelled_in_time() -> None:
    """附件 1 第五步：12 月 15 日 17 点前……注销；第七步：提交履约申请时选择已生成的 CCER 进行履约。"""
    s = status(OFFSET_CLOSED, lines=(line(40_000),), cancellations=(cancelled(10_000),))
    assert (s.next_step, s.next_deadline) == ("submit_compliance", FIRST.compliance_deadline)
    assert (s.to_cancel_t, s.offset_t, s.to_surrender_t) == (0, 10_000, 990_000)
    assert s.chase == ("not_cancelled_by_deadline",)


def test_no_cancellation_after_the_deadline_with_nothing_cancelled_in_time() -> None:
    """附件 1 第六步、第七步：注销记录与抵销登记只办理至 2021 年 12 月 15 日。"""
    s = status(OFFSET_CLOSED, lines=(line(40_000),))
    assert (s.next_step, s.to_cancel_t, s.to_surrender_t) == ("surrender_allowances", 0, 1_000_000)
    assert s.chase == ("not_cancelled_by_deadline",)


def test_the_chase_waits_for_the_deadline_day_s_list() -> None:
    """注销记录每日 17:00 后发送（FORMATS.md 第 3 节）：截止日当天的注销是否足额，
    要等当天的清单或次日上午才知道。"""
    confirmed = {"lines": (line(40_000),)}
    assert status(at(2021, 12, 15, 17), **confirmed).chase == ()
    assert status(at(2021, 12, 16, 8, 59), **confirmed).chase == ()
    assert status(at(2021, 12, 16, 9), **confirmed).chase == ("not_cancelled_by_deadline",)
    day_before = at(2021, 12, 14, 11)
    assert status(at(2021, 12, 15, 18), listed_through=day_before, **confirmed).chase == ()
    last_day = at(2021, 12, 15, 11)
    assert status(at(2021, 12, 15, 18), listed_through=last_day, **confirmed).chase == (
        "not_cancelled_by_deadline",
    )


def test_fully_cancelled_submits_compliance_at_any_moment() -> None:
    """附件 1 第七步：重点排放单位在系统中提交履约申请时选择已生成的 CCER 进行履约。"""
    for when in (WINDOW_OPEN, OFFSET_CLOSED):
        s = status(when, lines=(line(40_000),), cancellations=(cancelled(40_000),))
        assert (s.next_step, s.next_deadline, s.chase) == ("submit_compliance", FIRST.compliance_deadline, ())


def test_over_the_cap_only_the_cap_is_to_be_cancelled() -> None:
    """附件 1 第一条（一）：抵销比例不超过应清缴碳排放配额的 5%。"""
    s = status(WINDOW_CLOSED, lines=(line(70_000),))
    assert (s.usable_t, s.over_cap_t, s.to_cancel_t) == (CAP, 20_000, CAP)
    assert "offset_over_cap" in s.anomalies
    done = status(WINDOW_CLOSED, lines=(line(70_000),), cancellations=(cancelled(CAP),))
    assert (done.next_step, done.to_cancel_t) == ("submit_compliance", 0)


def test_late_cancellations_do_not_count() -> None:
    """附件 1 第五步：在 2021 年 12 月 15 日 17 点前……注销。"""
    late = cancelled(30_000, at(2021, 12, 16, 10))
    s = status(OFFSET_CLOSED, lines=(line(40_000),), cancellations=(cancelled(10_000), late))
    assert (s.cancelled_t, s.offset_t, s.late_cancelled_t) == (40_000, 10_000, 30_000)
    assert (s.next_step, s.to_surrender_t) == ("submit_compliance", 990_000)
    assert "cancellation_after_deadline" in s.anomalies
    only_late = status(OFFSET_CLOSED, lines=(line(40_000),), cancellations=(late,))
    assert only_late.next_step == "surrender_allowances"


def test_after_the_compliance_deadline_the_unit_is_overdue() -> None:
    """正文二：对未按时足额清缴配额的重点排放单位，依据《碳排放权交易管理办法（试行）》相关规定处理。"""
    s = status(OVERDUE, lines=(line(40_000),), cancellations=(cancelled(40_000),))
    assert (s.next_step, s.overdue) == ("submit_compliance", True)
    assert s.next_deadline is not None and s.next_deadline < OVERDUE


def test_ineligible_ccer_is_named_even_on_a_rejected_application() -> None:
    """附件 1 第一条：可用的 CCER 均为 2017 年 3 月前产生的减排量。"""
    bad = line(10_000, "rejected", project_no="0433", vintage_end=date(2017, 6, 30))
    s = status(WINDOW_OPEN, lines=(bad,))
    assert "ineligible_ccer" in s.anomalies
    assert [(i.project_no, i.why) for i in s.ineligible] == [("0433", "vintage")]


def test_procedure_table_lists_sources_for_every_rule() -> None:
    table: Procedure = load_procedure("cancellation")
    assert all("附件" in rule.source or "正文" in rule.source for rule in table.rules)
