"""A city is not a province: a roster's 地区 column, or a city in its 省份 column, refuses no row."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.intake.world import ROSTER_HEADER, SD, SD_UNITS, roster_rows, status, take, xlsx_mail

CITIES = ("济南市", "青岛市", "烟台市")


def roster(rows: list[list[object]]) -> bytes:
    return xlsx_mail(SD, "山东省2019-2020年度重点排放单位名录", "2021-10-25T15:00", rows)


@pytest.mark.parametrize("header", ["地区", "省份"])
def test_a_column_of_cities_takes_the_senders_province(sqlite_engine: Engine, header: str) -> None:
    rows = roster_rows(SD_UNITS)
    rows[1] = [header if h == "省份" else h for h in ROSTER_HEADER]
    for row, city in zip(rows[2:], CITIES, strict=True):
        row[1] = city
    outcome = take(
        sqlite_engine, xlsx_mail(SD, "山东省2019-2020年度重点排放单位名录", "2021-10-25T15:00", rows)
    )
    assert (outcome.outcome, outcome.rows_applied, outcome.row_errors) == ("applied", 3, [])
    assert {status(sqlite_engine, u).province for u in SD_UNITS} == {"山东省"}


def test_a_prefecture_bearing_another_provinces_name_is_not_that_province(
    sqlite_engine: Engine,
) -> None:
    rows = roster_rows(SD_UNITS[:1])
    rows[1] = ["地区" if h == "省份" else h for h in ROSTER_HEADER]
    rows[2][1] = "海南藏族自治州"  # in 青海省, not 海南省: a 地区 column is no province column
    outcome = take(
        sqlite_engine, xlsx_mail(SD, "山东省2019-2020年度重点排放单位名录", "2021-10-25T15:00", rows)
    )
    assert (outcome.outcome, outcome.rows_applied) == ("applied", 1)


def test_a_province_column_naming_another_province_still_refuses_the_row(sqlite_engine: Engine) -> None:
    rows = roster_rows(SD_UNITS[:2])
    rows[3][1] = "浙江省"
    outcome = take(
        sqlite_engine, xlsx_mail(SD, "山东省2019-2020年度重点排放单位名录", "2021-10-25T15:00", rows)
    )
    assert outcome.rows_applied == 1
    # the province cell names another province than the code's and the sender's: refused, naming both
    assert "由山东省登记，不属于浙江省" in outcome.row_errors[0].reason
