"""Later cycles through the whole intake: per-year rosters, sectors, offset operations, facts per cycle."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from compliance.status import YearFacts
from mail import intake
from storage.cycles import cycle_at
from storage.engine import session_scope
from storage.models import OutboxItem, RosterEntry
from storage.state import unmatched_operations
from tests.intake.cycles_world import CONFIG as CYCLES_CONFIG
from tests.intake.cycles_world import (
    REGISTRY,
    Op,
    facts,
    operation_rows,
    operations_mail,
    per_year_roster_rows,
    take,
)
from tests.intake.world import (
    GD,
    GD_UNITS,
    SD,
    SD_UNITS,
    at,
    daily_rows,
    daily_subject,
    roster_mail,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.intake.world import take as take_first
from tests.told import notifying

A, B, C = SD_UNITS
G1, G2 = GD_UNITS
SECOND = "2021-2022"
NOW = at("2024-01-10T09:00")


def second_cycle_rosters(engine: Engine, complied: str | None = None, when: str = "2023-09-01T10:00") -> None:
    for sender, units, sectors in (
        (SD, SD_UNITS, ("发电", "电力", "发电")),
        (GD, GD_UNITS, ("钢铁", "铝冶炼")),
    ):
        rows = per_year_roster_rows(units, ("2021", "2022"), sectors, complied)
        raw = xlsx_mail(sender, f"{units[0].province}2021、2022年度重点排放单位名录", when, rows)
        assert take(engine, raw, NOW).outcome == "applied"


# ---- rosters -----------------------------------------------------------------------------------


def test_a_roster_with_per_year_columns_fills_each_obligation_and_the_sector(engine: Engine) -> None:
    second_cycle_rosters(engine)
    found = facts(engine, NOW, SECOND)
    known, unit = found[A.code]
    assert unit.years == (YearFacts("2021", A.due, None, None), YearFacts("2022", A.due + 1000, None, None))
    assert unit.allowances_by_year_t == ((2021, A.due), (2022, A.due + 1000))
    assert unit.allowances_due_t == known.allowances_due_t == 2 * A.due + 1000
    assert (unit.sector, found[G1.code][1].sector, found[G2.code][1].sector) == (
        "power",
        "steel",
        "aluminium",
    )
    with session_scope(engine) as session:
        assert set(session.exec(select(RosterEntry.cycle))) == {SECOND}  # by its columns, not its date
    assert facts(engine, NOW, "2019-2020") == {}


def test_a_later_roster_giving_one_year_keeps_the_other_and_the_total_follows(engine: Engine) -> None:
    second_cycle_rosters(engine)
    rows = [["名录"], ["单位名称", "统一社会信用代码", "2022年度应清缴配额量（吨）", "2022年度履约状态"]]
    rows.append([A.name, A.code, 7_000, "已完成"])
    assert take(engine, xlsx_mail(SD, "山东省履约进度", "2023-12-01T10:00", rows), NOW).outcome == "applied"
    _, unit = facts(engine, NOW, SECOND)[A.code]
    assert unit.years == (YearFacts("2021", A.due, None, None), YearFacts("2022", 7_000, None, True))
    assert unit.allowances_due_t == A.due + 7_000
    assert unit.sector == "power"  # a roster without the column keeps what an earlier one said
    _, before = facts(engine, at("2023-11-01T00:00"), SECOND)[A.code]  # --at replays the earlier roster
    assert before.years[1] == YearFacts("2022", A.due + 1000, None, None)


def test_every_year_complied_is_the_unit_complied(engine: Engine) -> None:
    second_cycle_rosters(engine, complied="已完成")
    known, unit = facts(engine, NOW, SECOND)[B.code]
    assert [y.complied for y in unit.years] == [True, True]
    assert unit.complied is known.complied is True


def test_an_unknown_sector_and_a_year_no_cycle_owes_are_row_errors(engine: Engine) -> None:
    rows = per_year_roster_rows(SD_UNITS, ("2021",), ("发电", "炼油", "水泥"))
    rows[1].append("2018年度应清缴配额量（吨）")
    rows[4].append(5)
    outcome = take(engine, xlsx_mail(SD, "山东省名录", "2023-09-01T10:00", rows), NOW)
    assert (outcome.outcome, outcome.rows_applied) == ("applied_with_row_errors", 1)
    reasons = {e.row: e.reason for e in outcome.row_errors}
    assert "炼油" in reasons[4] and "行业" in reasons[4]
    assert "2018年度不属于任何已知的履约周期" in reasons[5]
    assert set(facts(engine, NOW, SECOND)) == {A.code}


def test_a_roster_without_years_belongs_to_the_first_obligation_of_the_cycle_of_its_date(
    engine: Engine,
) -> None:
    rows = [
        ["名录"],
        ["单位名称", "统一社会信用代码", "应清缴配额量", "履约状态"],
        [A.name, A.code, 900, "未完成"],
    ]
    when = "2023-09-01T10:00"
    assert take(engine, xlsx_mail(SD, "山东省名录", when, rows), NOW).outcome == "applied"
    cycle = cycle_at(at(when))
    _, unit = facts(engine, NOW, cycle.name)[A.code]
    assert unit.years == (YearFacts(cycle.obligations[0], 900, None, False),)
    assert unit.allowances_due_t == 900


def test_first_cycle_mail_after_its_deadline_still_belongs_to_the_first_cycle(engine: Engine) -> None:
    # the last rosters of a cycle come after its deadline, before the provinces report on it
    assert take_first(engine, roster_mail(SD, SD_UNITS)).outcome == "applied"
    late = roster_mail(SD, SD_UNITS[:1], when="2022-01-04T10:00", complied={A.code: "已完成"})
    assert take_first(engine, late).outcome == "applied"
    first = facts(engine, at("2022-01-05T00:00"), "2019-2020")
    assert first[A.code][1].complied is True
    assert first[A.code][1].years == (YearFacts("2019-2020", A.due, None, True),)
    assert facts(engine, at("2022-01-05T00:00"), SECOND) == {}


def test_a_unit_keeps_its_history_across_cycles(engine: Engine) -> None:
    assert take_first(engine, roster_mail(SD, SD_UNITS)).outcome == "applied"
    daily = daily_rows([("2021-11-15 10:30", A.name, A.code, 1_000, 120_000)])
    raw = xlsx_mail(SD, daily_subject("山东省", "2021年11月15日"), "2021-11-15T17:40", daily)
    assert take_first(engine, raw).outcome == "applied"
    weekly = weekly_rows([(A, 150_000, "已确认")], "2021年11月19日")
    raw = xlsx_mail(SD, weekly_subject("山东省", "2021年11月19日"), "2021-11-19T16:30", weekly)
    assert take_first(engine, raw).outcome == "applied"
    second_cycle_rosters(engine)
    ops = [Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销")]
    assert take(engine, operations_mail(REGISTRY, "2023-09-10T18:00", ops), NOW).outcome == "applied"
    _, first = facts(engine, NOW, "2019-2020")[A.code]
    _, second = facts(engine, NOW, SECOND)[A.code]
    assert ([c.quantity_t for c in first.cancellations], first.operations, first.allowances_due_t) == (
        [120_000],
        (),
        A.due,
    )
    assert [line.requested_t for line in first.lines] == [150_000]
    assert (second.cancellations, second.lines, [o.quantity_t for o in second.operations]) == (
        (),
        (),
        [3_000],
    )
    _, everything = facts(engine, NOW, None)[A.code]  # no cycle: every fact, as before cycles were kept
    assert (len(everything.cancellations), len(everything.operations)) == (1, 1)


# ---- offset operations -------------------------------------------------------------------------


def test_the_registry_is_trusted_for_every_province(engine: Engine) -> None:
    second_cycle_rosters(engine)
    ops = [
        Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销"),
        Op("OP-2", "2023-09-11", G1, "2022年度", 500, "待抵销", "新"),
    ]
    outcome = take(engine, operations_mail(REGISTRY, "2023-09-11T18:00", ops), NOW)
    assert (outcome.kind, outcome.outcome, outcome.rows_applied) == ("offset_operations", "applied", 2)
    found = facts(engine, NOW, SECOND)
    (op,) = found[G1.code][1].operations
    assert (op.year, op.quantity_t, op.state, op.ccer_kind, op.project_no) == (
        "2022",
        500,
        "held",
        "new",
        "CCER-14-001",
    )
    assert op.operated_on.isoformat() == "2023-09-11"
    assert found[A.code][1].operations[0].ccer_kind == "old"


def test_an_operation_counts_once_in_its_latest_state_and_its_states_replay(engine: Engine) -> None:
    second_cycle_rosters(engine)
    held = [Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销")]
    used = [
        Op("OP-1", "2023-09-10", A, 2021, 3_000, "已抵销"),
        Op("OP-2", "2023-10-09", A, 2022, 100, "待抵销"),
    ]
    assert take(engine, operations_mail(REGISTRY, "2023-09-10T18:00", held), NOW).rows_applied == 1
    assert take(engine, operations_mail(REGISTRY, "2023-10-10T18:00", used), NOW).rows_applied == 2
    again = operations_mail(REGISTRY, "2023-10-11T18:00", used, subject="全国履约抵销操作记录（累计）")
    assert take(engine, again, NOW).rows_applied == 0  # a cumulative list repeats: nothing new
    ops = facts(engine, NOW, SECOND)[A.code][1].operations
    assert [(o.quantity_t, o.state, o.state_known_at) for o in ops] == [
        (3_000, "used", at("2023-10-10T18:00")),
        (100, "held", at("2023-10-10T18:00")),
    ]
    earlier = facts(engine, at("2023-09-20T00:00"), SECOND)[A.code][1].operations
    assert [(o.quantity_t, o.state) for o in earlier] == [(3_000, "held")]


def test_a_list_arriving_late_does_not_undo_a_later_state(engine: Engine) -> None:
    second_cycle_rosters(engine)
    withdrawn = [Op("OP-9", "2023-09-10", B, 2021, 800, "已撤销")]
    held = [Op("OP-9", "2023-09-10", B, 2021, 800, "待抵销")]
    assert take(engine, operations_mail(REGISTRY, "2023-09-20T18:00", withdrawn), NOW).rows_applied == 1
    assert take(engine, operations_mail(REGISTRY, "2023-09-12T18:00", held), NOW).rows_applied == 1
    assert [o.state for o in facts(engine, NOW, SECOND)[B.code][1].operations] == ["withdrawn"]
    assert [o.state for o in facts(engine, at("2023-09-15T00:00"), SECOND)[B.code][1].operations] == ["held"]


def test_without_a_number_an_operation_is_its_unit_project_year_date_and_quantity(engine: Engine) -> None:
    second_cycle_rosters(engine)
    first = [
        Op(None, "2023-09-10", A, 2021, 3_000, "待抵销"),
        Op(None, "2023-09-10", A, 2022, 3_000, "待抵销"),
    ]
    later = [
        Op(None, "2023-09-10", A, 2021, 3_000, "已抵销"),
        Op(None, "2023-09-10", A, 2021, 2_999, "待抵销"),
    ]
    assert take(engine, operations_mail(REGISTRY, "2023-09-10T18:00", first), NOW).rows_applied == 2
    assert take(engine, operations_mail(REGISTRY, "2023-09-20T18:00", later), NOW).rows_applied == 2
    ops = facts(engine, NOW, SECOND)[A.code][1].operations
    assert sorted((o.year, o.quantity_t, o.state) for o in ops) == [
        ("2021", 2_999, "held"), ("2021", 3_000, "used"), ("2022", 3_000, "held")
    ]  # fmt: skip


def test_a_province_officer_forwards_operations_for_its_own_province_only(engine: Engine) -> None:
    second_cycle_rosters(engine)
    ops = [
        Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销"),
        Op("OP-2", "2023-09-10", G1, 2021, 10, "待抵销"),
    ]
    outcome = take(
        engine, operations_mail(SD, "2023-09-11T09:00", ops, "转发：山东省全国履约抵销操作记录"), NOW
    )
    assert (outcome.outcome, outcome.rows_applied) == ("applied_with_row_errors", 1)
    assert [e.row for e in outcome.row_errors] == [4] and "不属于山东省" in outcome.row_errors[0].reason
    assert facts(engine, NOW, SECOND)[G1.code][1].operations == ()


def test_untrusted_senders_are_quarantined_and_the_registry_sends_only_operations(engine: Engine) -> None:
    ops = [Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销")]
    stranger = take(engine, operations_mail("someone@example.com", "2023-09-11T09:00", ops), NOW)
    assert (stranger.kind, stranger.outcome) == ("offset_operations", "quarantined")
    rows = per_year_roster_rows(SD_UNITS, ("2021",), ("发电", "发电", "发电"))
    for subject in ("山东省名录", "数据报送"):  # the registry's mail is judged as what its columns say
        roster = take(engine, xlsx_mail(REGISTRY, subject, "2023-09-01T10:00", rows), NOW)
        assert (roster.kind, roster.outcome) == ("roster", "quarantined")
        assert "只发送抵销操作记录" in (roster.reason or "")


def test_a_registry_list_is_read_as_operations_without_a_telling_subject(engine: Engine) -> None:
    second_cycle_rosters(engine)
    ops = [Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销")]
    outcome = take(engine, operations_mail(REGISTRY, "2023-09-11T09:00", ops, subject="数据报送"), NOW)
    assert (outcome.kind, outcome.outcome) == ("offset_operations", "applied")


def test_bad_states_years_and_kinds_are_row_errors(engine: Engine) -> None:
    second_cycle_rosters(engine)
    ops = [
        Op("OP-1", "2023-09-10", A, 2021, 3_000, "冻结中"),
        Op("OP-2", "2023-09-10", A, "明年", 3_000, "待抵销"),
        Op("OP-3", "2023-09-10", A, 2017, 3_000, "待抵销"),
        Op("OP-4", "2023-09-10", A, 2021, 3_000, "待抵销", "不详"),
        Op("OP-5", "2023-09-10", A, 2021, 3_000, "已抵销"),
    ]
    outcome = take(engine, operations_mail(REGISTRY, "2023-09-11T09:00", ops), NOW)
    assert (outcome.outcome, outcome.rows_applied) == ("applied_with_row_errors", 1)
    reasons = {e.row: e.reason for e in outcome.row_errors}
    assert sorted(reasons) == [3, 4, 5, 6]
    assert "冻结中" in reasons[3] and "明年" in reasons[4] and "2017" in reasons[5] and "不详" in reasons[6]


def test_an_unmatched_operation_is_kept_and_matched_when_a_roster_brings_its_unit(engine: Engine) -> None:
    ops = [Op("OP-1", "2023-09-10", C, 2021, 3_000, "待抵销")]
    outcome = take(engine, operations_mail(SD, "2023-09-11T09:00", ops, "转发：全国履约抵销操作记录"), NOW)
    assert (outcome.outcome, outcome.rows_applied) == ("applied", 1)
    with session_scope(engine) as session:
        kept = unmatched_operations(session, NOW, "山东省", SECOND)
    assert [(row.code, op.quantity_t, op.state) for row, op in kept] == [(C.code, 3_000, "held")]
    second_cycle_rosters(engine)
    with session_scope(engine) as session:
        assert unmatched_operations(session, NOW, "山东省", SECOND) == []
    assert [o.quantity_t for o in facts(engine, NOW, SECOND)[C.code][1].operations] == [3_000]


def test_the_receipt_names_the_operations_kind(engine: Engine) -> None:
    second_cycle_rosters(engine)
    ops = [Op("OP-1", "2023-09-10", A, 2021, 3_000, "待抵销")]
    intake.take(
        engine, operations_mail(REGISTRY, "2023-09-11T09:00", ops), "ops.eml", notifying(CYCLES_CONFIG), NOW
    )
    with session_scope(engine) as session:
        item = session.exec(select(OutboxItem).where(OutboxItem.recipient == REGISTRY)).one()
    assert "类型：全国履约抵销操作记录" in item.body


def test_an_operation_without_a_number_counts_once_before_and_after_its_unit_is_known(engine: Engine) -> None:
    # before the roster: reported with its code, then by name only; after: with its code again
    held = Op(None, "2023-09-10", C, 2021, 3_000, "待抵销")
    by_name = operation_rows([Op(None, "2023-09-10", C, 2021, 3_000, "已抵销")])
    by_name[2][4] = None
    assert (
        take(
            engine, operations_mail(SD, "2023-09-11T09:00", [held], "全国履约抵销操作记录"), NOW
        ).rows_applied
        == 1
    )
    raw = xlsx_mail(SD, "全国履约抵销操作记录（二）", "2023-09-12T09:00", by_name)
    assert take(engine, raw, NOW).rows_applied == 1
    second_cycle_rosters(engine, when="2023-09-13T10:00")
    again = operations_mail(SD, "2023-09-14T09:00", [held], "全国履约抵销操作记录（三）")
    assert take(engine, again, NOW).rows_applied == 1  # a state change, not a new operation
    ops = facts(engine, NOW, SECOND)[C.code][1].operations
    assert [(o.quantity_t, o.state) for o in ops] == [(3_000, "held")]
    before = facts(engine, at("2023-09-13T12:00"), SECOND)[C.code][1].operations
    assert [(o.quantity_t, o.state) for o in before] == [(3_000, "used")]
