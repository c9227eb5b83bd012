"""One province cannot take another's unit by being first: the credit code's division decides, a
blank province cell claims nothing of another province, and two claims are shown to both."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from compliance.creditcode import make_code
from compliance.divisions import province_of_code
from storage import access, outbox
from storage.models import Unit as UnitRow
from tests.intake.world import (
    GD,
    GD_UNITS,
    LATER,
    NCSC,
    SD,
    SD_UNITS,
    Unit,
    daily_rows,
    daily_subject,
    roster_mail,
    roster_rows,
    status,
    take,
    xlsx_mail,
)

G1 = GD_UNITS[0]


def _province(engine: Engine, code: str) -> str | None:
    with Session(engine) as session:
        unit = session.exec(select(UnitRow).where(UnitRow.code == code)).first()
        return unit.province if unit else None


def test_the_division_names_the_province() -> None:
    assert [province_of_code(u.code) for u in (*SD_UNITS, G1)] == ["山东省"] * 3 + ["广东省"]
    assert province_of_code("9100000000MA00001X") is None


def test_a_blank_province_cell_cannot_claim_another_provinces_code(sqlite_engine: Engine) -> None:
    rows = roster_rows([*SD_UNITS, G1])
    rows[-1][1] = None  # 广东's unit in 山东's roster, its province cell left blank
    outcome = take(sqlite_engine, xlsx_mail(SD, "山东省重点排放单位名录", "2021-10-25T15:00", rows))
    assert outcome.outcome == "applied_with_row_errors"
    assert [e.row for e in outcome.row_errors] == [6] and "由广东省登记" in outcome.row_errors[0].reason
    assert _province(sqlite_engine, G1.code) is None
    assert take(sqlite_engine, roster_mail(GD, GD_UNITS, "2021-10-26T15:00")).outcome == "applied"
    assert _province(sqlite_engine, G1.code) == "广东省"
    daily = daily_rows([("2021-11-15 10:30", G1.name, G1.code, 1, 5_000)])
    take(sqlite_engine, xlsx_mail(NCSC, daily_subject("广东省", "2021-11-15"), "2021-11-15T18:00", daily))
    assert status(sqlite_engine, G1).status.cancelled_t == 5_000


def test_a_unit_taken_first_by_the_wrong_province_goes_where_its_code_says(sqlite_engine: Engine) -> None:
    # a unit already held by 山东省 (as data written before the division was read could hold it)
    take(sqlite_engine, roster_mail(SD, SD_UNITS))
    with Session(sqlite_engine) as session, session.begin():
        for chat, province in ((801, "山东省"), (802, "广东省"), (803, "*")):
            access.bind(session, chat, "officer", LATER, province=province)
    take(sqlite_engine, roster_mail(GD, GD_UNITS, "2021-10-26T15:00"))
    with Session(sqlite_engine) as session, session.begin():
        unit = session.exec(select(UnitRow).where(UnitRow.code == G1.code)).one()
        unit.province = "山东省"
    again = xlsx_mail(GD, "广东省重点排放单位名录（更新）", "2021-10-27T15:00", roster_rows(GD_UNITS))
    later = take(sqlite_engine, again)
    assert later.outcome == "applied"
    assert _province(sqlite_engine, G1.code) == "广东省"
    told = sorted(i.recipient for i in outbox.items(sqlite_engine) if i.kind == "province_claim")
    assert told == ["801", "802", "803"]


def test_two_provinces_claiming_a_code_that_names_none_are_both_told(sqlite_engine: Engine) -> None:
    odd = Unit("山东省", "无区划测试有限公司", make_code("9100000000MA00001"), "371000000099", 1_000)
    with Session(sqlite_engine) as session, session.begin():
        access.bind(session, 811, "officer", LATER, province="山东省")
        access.bind(session, 812, "officer", LATER, province="广东省")
    assert take(sqlite_engine, roster_mail(SD, [odd])).outcome == "applied"
    claimed = Unit("广东省", odd.name, odd.code, odd.account, odd.due)
    refused = take(sqlite_engine, roster_mail(GD, [claimed], "2021-10-26T15:00"))
    assert refused.outcome == "applied_with_row_errors"
    told = sorted(i.recipient for i in outbox.items(sqlite_engine) if i.kind == "province_claim")
    assert told == ["811", "812"]
    claims = [i for i in outbox.items(sqlite_engine) if i.kind == "province_claim"]
    assert "无法判定所属省份" in claims[-1].body


def test_a_name_two_units_share_matches_neither(sqlite_engine: Engine) -> None:
    take(sqlite_engine, roster_mail(SD, SD_UNITS))
    twin = Unit("广东省", SD_UNITS[0].name, GD_UNITS[1].code, GD_UNITS[1].account, 1_000)
    take(sqlite_engine, roster_mail(GD, [twin], "2021-10-26T15:00"))
    daily = daily_rows([("2021-11-15 10:30", SD_UNITS[0].name, None, 1, 5_000)])
    take(sqlite_engine, xlsx_mail(NCSC, daily_subject("山东省", "2021-11-15"), "2021-11-15T18:00", daily))
    assert status(sqlite_engine, SD_UNITS[0], LATER + timedelta(days=1)).status.cancelled_t == 0
