from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from compliance.names import name_key
from mail.values import (
    clean_text,
    find_date,
    parse_amount,
    parse_clock,
    parse_date,
    parse_serial_range,
    parse_vintage,
)

TZ = ZoneInfo("Asia/Shanghai")


# ---- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (3683910, 3683910),
        (3683910.0, 3683910),
        ("3683910", "3683910"),
        ("1,234,567", 1234567),
        ("１２３４５６７", 1234567),
        ("１，２３４，５６７", 1234567),
        ("1 234", 1234),
        ("1\u00a0234\u202f567", 1234567),
        ("  470,700  ", 470700),
        ("470,700吨", 470700),
        ("470700 t", 470700),
        ("12.5万吨", 125000),
        ("0", 0),
        ("-1,234", -1234),
        ("－５", -5),
        ("−5", -5),
        ("(1,234)", -1234),
        (184195.00000000003, 184195),
    ],
)
def test_amounts_in_tonnes(cell: object, expected: object) -> None:
    want = int(expected) if isinstance(expected, str) else expected
    assert parse_amount(cell) == want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12.5", 125000),
        (12.5, 125000),
        (18, 180000),
        ("18.05", 180500),
        ("1,234.5678", 12345678),
        ("12.34565", 123457),  # 123456.5 t: half up
        ("12.34564", 123456),
        ("0.00005", 1),
        ("-0.00005", -1),
        ("１８．０５", 180500),
    ],
)
def test_amounts_in_ten_thousand_tonnes(cell: str | float, expected: int) -> None:
    assert parse_amount(cell, ten_thousand=True) == expected


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000", "-", "—", "/", "无"])
def test_blank_amounts_are_none(cell: str | None) -> None:
    assert parse_amount(cell) is None


@pytest.mark.parametrize(
    ("cell", "shown", "reason"),
    [
        ("abc", "abc", "不是数字"),
        ("约12万", "约12万", "不是数字"),
        ("1,23", "1,23", "不是数字"),
        ("12.5", "12.5", "不是整吨数"),
        (12.5, "12.5", "不是整吨数"),
        (datetime(2021, 11, 15), "2021-11-15", "不是数字"),
        (float("nan"), "nan", "不是数字"),
    ],
)
def test_bad_amounts_say_why_in_chinese(cell: object, shown: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_amount(cell)  # type: ignore[arg-type]
    assert shown in str(caught.value)
    assert reason in str(caught.value)


# ---- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2021-11-15", datetime(2021, 11, 15)),
        ("2021/11/15 10:30", datetime(2021, 11, 15, 10, 30)),
        ("2021/1/1 11:30", datetime(2021, 1, 1, 11, 30)),
        ("2021-12-02 10:30:15", datetime(2021, 12, 2, 10, 30, 15)),
        ("2021-12-02T10:30:00", datetime(2021, 12, 2, 10, 30)),
        ("2021年11月15日", datetime(2021, 11, 15)),
        ("2021年11月15日 10时30分", datetime(2021, 11, 15, 10, 30)),
        ("２０２１年１１月１５日", datetime(2021, 11, 15)),
        ("2021.11.15", datetime(2021, 11, 15)),
        ("20211115", datetime(2021, 11, 15)),
        (20211115, datetime(2021, 11, 15)),
        (44515, datetime(2021, 11, 15)),
        (44515.4375, datetime(2021, 11, 15, 10, 30)),
        (datetime(2021, 11, 15, 10, 30), datetime(2021, 11, 15, 10, 30)),
        (date(2021, 11, 15), datetime(2021, 11, 15)),
    ],
)
def test_dates_are_aware_in_the_local_zone(cell: object, expected: datetime) -> None:
    parsed = parse_date(cell, TZ)  # type: ignore[arg-type]
    assert parsed == expected.replace(tzinfo=TZ)
    assert parsed is not None and parsed.tzinfo is TZ


def test_an_aware_datetime_is_converted_not_relabelled() -> None:
    parsed = parse_date(datetime(2021, 11, 15, 2, 30, tzinfo=UTC), TZ)
    assert parsed == datetime(2021, 11, 15, 10, 30, tzinfo=TZ)
    assert parse_date("2021-11-15T02:30:00+00:00", TZ) == datetime(2021, 11, 15, 10, 30, tzinfo=TZ)


@pytest.mark.parametrize("cell", ["2021-02-30", "明天", "2021-11", "25:00", -3])
def test_bad_dates_raise(cell: object) -> None:
    with pytest.raises(ValueError, match="不是有效日期"):
        parse_date(cell, TZ)  # type: ignore[arg-type]


def test_blank_date_is_none() -> None:
    assert parse_date(None, TZ) is None
    assert parse_date(" ", TZ) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("10:30", time(10, 30)),
        ("10:30:15", time(10, 30, 15)),
        ("10时30分", time(10, 30)),
        (0.4375, time(10, 30)),
    ],
)
def test_clock(cell: str | float, expected: time) -> None:
    assert parse_clock(cell) == expected


def test_find_date_in_a_title() -> None:
    assert find_date("填报单位：广东省生态环境厅    截至日期：2021年11月19日") == date(2021, 11, 19)
    assert find_date("（截至2021-12-14）") == date(2021, 12, 14)
    assert find_date("汇总表") is None


# ---- vintages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2014-01-01至2016-10-31", (date(2014, 1, 1), date(2016, 10, 31))),
        ("2014.1.1-2016.10.31", (date(2014, 1, 1), date(2016, 10, 31))),
        ("2014年1月1日至2016年10月31日", (date(2014, 1, 1), date(2016, 10, 31))),
        ("2014-01-01 ～ 2016-10-31", (date(2014, 1, 1), date(2016, 10, 31))),
        ("2014-01-01-2016-10-31", (date(2014, 1, 1), date(2016, 10, 31))),
        ("2014/1/1到2016/10/31", (date(2014, 1, 1), date(2016, 10, 31))),
        ("2014年1月至2016年2月", (date(2014, 1, 1), date(2016, 2, 29))),
        ("2014至2016", (date(2014, 1, 1), date(2016, 12, 31))),
        ("2014-01-01至", (date(2014, 1, 1), None)),
        (None, (None, None)),
        ("", (None, None)),
    ],
)
def test_vintages(cell: str | None, expected: tuple[date | None, date | None]) -> None:
    assert parse_vintage(cell) == expected


@pytest.mark.parametrize("cell", ["见附件", "2014-13-01至2016-10-31", "2016-10-31"])
def test_bad_vintages_raise(cell: str) -> None:
    with pytest.raises(ValueError, match="不是起止期间"):
        parse_vintage(cell)


# ---- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("\u3000济南瑞丰发电有限责任公司 \u3000", "济南瑞丰发电有限责任公司"),
        ("某某（集团）有限公司  ", "某某(集团)有限公司"),
        ("ＡＢＣ１２３", "ABC123"),
        ("\ufeff0012", "0012"),
        (12, "12"),
        (371922121676.0, "371922121676"),
        (None, None),
        ("", None),
        ("\u3000 ", None),
        ("-", None),
    ],
)
def test_clean_text(cell: object, expected: str | None) -> None:
    assert clean_text(cell) == expected  # type: ignore[arg-type]


def test_name_key_ignores_width_and_white_space() -> None:
    assert name_key("华能　国际 电力（集团）\t有限公司 ") == name_key("华能国际电力(集团)有限公司")
    assert name_key("华能国际") != name_key("华能国际电力")


# ---- serial ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("001071803900-001072079599", ("001071803900", "001072079599")),
        ("001071803900 - 001072079599", ("001071803900", "001072079599")),
        ("001071803900至001072079599", ("001071803900", "001072079599")),
        ("００１０７１８０３９００～００１０７２０７９５９９", ("001071803900", "001072079599")),
        ("cn-001-cn-999", ("CN-001", "CN-999")),
        ("001071803900", ("001071803900", "001071803900")),
        (None, (None, None)),
        ("", (None, None)),
    ],
)
def test_serial_ranges(cell: str | None, expected: tuple[str | None, str | None]) -> None:
    assert parse_serial_range(cell) == expected


def test_a_serial_range_needs_digits() -> None:
    with pytest.raises(ValueError, match="不是序列号段"):
        parse_serial_range("见附件")
