"""Round trips: whatever way a sheet writes a number or a date, it reads back as the same value."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.names import name_key
from mail.values import MAX_TONNES, parse_amount, parse_date

TZ = ZoneInfo("Asia/Shanghai")
FULL_WIDTH = str.maketrans("0123456789,.-", "０１２３４５６７８９，．－")
tonnes = st.integers(min_value=-MAX_TONNES, max_value=MAX_TONNES)


@given(tonnes)
def test_plain_and_thousands_separated(n: int) -> None:
    assert parse_amount(str(n)) == n
    assert parse_amount(f"{n:,}") == n
    assert parse_amount(f" {n:,} ") == n


@given(tonnes)
def test_full_width_digits(n: int) -> None:
    assert parse_amount(f"{n:,}".translate(FULL_WIDTH)) == n
    assert parse_amount(str(n).translate(FULL_WIDTH)) == n


@given(tonnes)
def test_space_grouped(n: int) -> None:
    assert parse_amount(f"{n:,}".replace(",", " ")) == n
    assert parse_amount(f"{n:,}".replace(",", "\u3000")) == n


@given(tonnes)
def test_ten_thousand_tonnes(n: int) -> None:
    written = format(Decimal(n).scaleb(-4), "f")  # 1234567 t → "123.4567"
    assert parse_amount(written, ten_thousand=True) == n
    assert parse_amount(written.translate(FULL_WIDTH), ten_thousand=True) == n
    assert parse_amount(written + "万吨") == n


@given(st.integers(min_value=-(10**8), max_value=10**8), st.integers(min_value=0, max_value=8))
def test_ten_thousand_rounds_half_up_to_the_tonne(mantissa: int, places: int) -> None:
    value = Decimal(mantissa).scaleb(-places)
    expected = int((value * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert parse_amount(format(value, "f"), ten_thousand=True) == expected


@given(st.integers(min_value=-MAX_TONNES, max_value=MAX_TONNES))
def test_integral_floats(n: int) -> None:
    assert parse_amount(float(n)) == n


@given(st.integers(min_value=MAX_TONNES + 1, max_value=10**40), st.booleans())
def test_absurd_amounts_are_refused_in_every_form(n: int, ten_thousand: bool) -> None:
    for written in (n, float(n), str(n), f"{n:,}", f"{n}万吨"):
        with pytest.raises(ValueError, match="超出合理范围"):
            parse_amount(written, ten_thousand=ten_thousand)


@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2099, 12, 31)))
def test_dates_written_as_text(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    aware = moment.replace(tzinfo=TZ)
    assert parse_date(moment.strftime("%Y-%m-%d %H:%M:%S"), TZ) == aware
    assert parse_date(f"{moment:%Y/%m/%d} {moment.hour}:{moment.minute:02}:{moment.second:02}", TZ) == aware
    midnight = aware.replace(hour=0, minute=0, second=0)
    assert parse_date(f"{moment.year}年{moment.month}月{moment.day}日", TZ) == midnight
    assert parse_date(moment.strftime("%Y.%m.%d"), TZ) == midnight
    assert parse_date(moment.strftime("%Y%m%d"), TZ) == midnight


@given(st.text(alphabet=st.sampled_from("华能国际电力（）() 　\t有限公司AＡ"), max_size=20))
def test_name_key_is_stable(name: str) -> None:
    key = name_key(name)
    assert name_key(key) == key
    assert not any(ch.isspace() for ch in key)
    assert name_key(" " + name + "\u3000") == key
