"""One cell to one typed value: amounts, dates, vintages, serial ranges, text.

A blank cell is None. A cell that holds something that is not what its column needs raises ValueError
with a short Chinese reason that shows the value (the caller adds the row and the column).
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from mail.vocab import text_key, vocab

Cell = str | int | float | datetime | date | None

_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2958466  # 9999-12-31
_SHOW_MAX = 40
_TEN_THOUSAND = Decimal(10000)
_FLOAT_SLACK = 1e-6

_EDGE_SPACE = "\u3000\u200b\u200c\u200d\ufeff \t\r\n\xa0"
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
_DATE = (
    r"(?<!\d)(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"|(?<!\d)(?P<y8>\d{4})(?P<m8>\d{2})(?P<d8>\d{2})(?!\d)"
)
_TIME = r"(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2})(?:\.\d+)?)?\s*[分秒]?"
_DATETIME = re.compile(rf"(?:{_DATE})(?:\s*T?\s*(?:{_TIME}))?")
_CLOCK = re.compile(rf"(?:{_TIME})")
_DATE_ANYWHERE = re.compile(_DATE)
_WHITE_RUN = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_MONTH = re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*月?")
_YEAR = re.compile(r"(?P<y>\d{4})\s*年?")


def show(cell: Cell) -> str:
    """A cell as a person should see it quoted in a row error."""
    if isinstance(cell, datetime) and cell.time() != time():
        text = cell.isoformat(sep=" ", timespec="minutes")
    elif isinstance(cell, datetime):
        text = cell.date().isoformat()
    elif isinstance(cell, date):
        text = cell.isoformat()
    elif isinstance(cell, float) and cell.is_integer():
        text = str(int(cell))
    else:
        text = unicodedata.normalize("NFKC", str(cell)).strip()
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 1] + "…"


def is_blank(cell: Cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, str):
        key = text_key(cell)
        return not key or key in vocab().blank_marks
    return False


def clean_text(cell: Cell) -> str | None:
    """NFKC, no blank at either end (full-width spaces included); None when blank."""
    if cell is None:
        return None
    if isinstance(cell, str):
        return _clean_str(cell)
    return show(cell)


@lru_cache(maxsize=1 << 16)  # names, codes, provinces and words come back in every roster and list
def _clean_str(cell: str) -> str | None:
    if is_blank(cell):
        return None
    return unicodedata.normalize("NFKC", cell).strip(_EDGE_SPACE) or None


# ---- amounts -----------------------------------------------------------------------------------


# No unit surrenders or cancels anywhere near this (the whole national market allocates about 4.5e9 t a
# year); a larger figure is a typing or export error, and must not reach a 64-bit database column.
MAX_TONNES = 10**12


def parse_amount(cell: Cell, *, ten_thousand: bool = False) -> int | None:
    """Whole tonnes; 万吨 (from the header, or written in the cell) are converted and rounded half up."""
    amount = _amount(cell, ten_thousand)
    if amount is not None and abs(amount) > MAX_TONNES:
        raise ValueError(f"{show(cell)} 超出合理范围（不超过 {MAX_TONNES:,} 吨）")
    return amount


def _amount(cell: Cell, ten_thousand: bool) -> int | None:
    if is_blank(cell):
        return None
    if isinstance(cell, bool | date):
        raise ValueError(f"{show(cell)} 不是数字")
    if isinstance(cell, int):
        return cell * 10000 if ten_thousand else cell
    if isinstance(cell, float):
        if not math.isfinite(cell):
            raise ValueError(f"{show(cell)} 不是数字")
        if not ten_thousand and abs(cell - round(cell)) < _FLOAT_SLACK:
            return round(cell)  # 184195.00000000003 from a formula is still whole tonnes
        return _whole_tonnes(Decimal(repr(cell)), ten_thousand, cell)
    number, unit_says_ten_thousand = _number_text(str(cell))
    return _whole_tonnes(number, ten_thousand or unit_says_ten_thousand, cell)


def _number_text(text: str) -> tuple[Decimal, bool]:
    key = text_key(text).replace("−", "-")
    key, ten_thousand = _strip_unit(key)
    if key.startswith("(") and key.endswith(")"):
        key = "-" + key[1:-1]  # accountants' negative: (1,234)
    if not _NUMBER.fullmatch(key):
        raise ValueError(f"{show(text)} 不是数字")
    try:
        return Decimal(key.replace(",", "")), ten_thousand
    except InvalidOperation:
        raise ValueError(f"{show(text)} 不是数字") from None


def _strip_unit(key: str) -> tuple[str, bool]:
    words = vocab()
    for unit in sorted(words.tonne_units | words.ten_thousand_units, key=len, reverse=True):
        if key.endswith(unit) and len(key) > len(unit):
            return key[: -len(unit)], unit in words.ten_thousand_units
    return key, False


def _whole_tonnes(number: Decimal, ten_thousand: bool, cell: Cell) -> int:
    if not number.is_finite():
        raise ValueError(f"{show(cell)} 不是数字")
    if abs(number) > MAX_TONNES:  # before any arithmetic: quantize refuses numbers this long
        raise ValueError(f"{show(cell)} 超出合理范围（不超过 {MAX_TONNES:,} 吨）")
    if ten_thousand:
        return int((number * _TEN_THOUSAND).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if number != number.to_integral_value():
        raise ValueError(f"{show(cell)} 不是整吨数")
    return int(number)


# ---- dates -------------------------------------------------------------------------------------


def parse_date(cell: Cell, tz: ZoneInfo) -> datetime | None:
    """An aware datetime in tz; a bare date is 00:00 local."""
    if is_blank(cell):
        return None
    if isinstance(cell, datetime):
        return cell.replace(tzinfo=tz) if cell.tzinfo is None else cell.astimezone(tz)
    if isinstance(cell, date):
        return datetime(cell.year, cell.month, cell.day, tzinfo=tz)
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        number = int(cell) if isinstance(cell, float) and cell.is_integer() else cell
        return _from_number(number).replace(tzinfo=tz)
    return _from_text(str(cell), tz)


def parse_clock(cell: Cell) -> time | None:
    """A time of day from a cell of its own (注销时间 beside 注销日期)."""
    if is_blank(cell):
        return None
    if isinstance(cell, datetime):
        return cell.time()
    if isinstance(cell, float) and 0 <= cell < 1:
        return _to_second(_EXCEL_EPOCH + timedelta(days=cell)).time()
    if isinstance(cell, str):
        found = _CLOCK.fullmatch(_squash(cell))
        if found:
            return _clock(found)
    raise ValueError(f"{show(cell)} 不是有效时间")


def _from_number(value: float) -> datetime:
    if isinstance(value, int) and 19000101 <= value <= 29991231:
        return _from_digits(str(value))
    if 1 <= value < _EXCEL_MAX_SERIAL:
        return _to_second(_EXCEL_EPOCH + timedelta(days=value))  # an Excel serial day number
    raise ValueError(f"{show(value)} 不是有效日期")


def _to_second(moment: datetime) -> datetime:
    # a serial's fraction of a day is binary: 10:30 may come out as 10:29:59.999999
    return moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))


def _from_digits(digits: str) -> datetime:
    try:
        return datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValueError(f"{digits} 不是有效日期") from None


def _squash(text: str) -> str:
    # white space is kept (as one space): "2021/1/1 11:30" must not read as "2021/1/111:30"
    return _WHITE_RUN.sub(" ", unicodedata.normalize("NFKC", text)).strip(_EDGE_SPACE)


def _from_text(text: str, tz: ZoneInfo) -> datetime:
    found = _DATETIME.fullmatch(_squash(text))
    if found is None:
        return _from_iso(text, tz)
    try:
        day = _date_of(found)
        clock = _clock(found) if found.group("H") else time()
        return datetime.combine(day, clock, tzinfo=tz)
    except ValueError:
        raise ValueError(f"{show(text)} 不是有效日期") from None


def _from_iso(text: str, tz: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(_squash(text))
    except ValueError:
        raise ValueError(f"{show(text)} 不是有效日期") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _date_of(found: re.Match[str]) -> date:
    if found.group("y"):
        return date(int(found.group("y")), int(found.group("m")), int(found.group("d")))
    return date(int(found.group("y8")), int(found.group("m8")), int(found.group("d8")))


def _clock(found: re.Match[str]) -> time:
    hour, minute, second = found.group("H"), found.group("M"), found.group("S")
    try:
        return time(int(hour), int(minute), int(second or 0))
    except ValueError:
        raise ValueError(f"{hour}:{minute} 不是有效时间") from None


def find_date(text: str) -> date | None:
    """The first full date written anywhere in a text (titles: "截至日期：2021年10月29日")."""
    for found in _DATE_ANYWHERE.finditer(text_key(text)):
        try:
            return _date_of(found)
        except ValueError:
            continue
    return None


# ---- vintages and serial ranges ----------------------------------------------------------------


def parse_vintage(cell: Cell) -> tuple[date | None, date | None]:
    """The period the reductions were made in: (first day, last day); either may be open."""
    if is_blank(cell):
        return None, None
    if isinstance(cell, date):
        raise ValueError(f"{show(cell)} 不是起止期间")
    key = text_key(str(cell))
    start_text, end_text = _split_range(key)
    if start_text is None and end_text is None:
        raise ValueError(f"{show(cell)} 不是起止期间")
    return _period_bound(start_text, first=True, cell=cell), _period_bound(end_text, first=False, cell=cell)


def _split_range(key: str) -> tuple[str | None, str | None]:
    for word in vocab().range_separators:
        if word in key:
            start, _, end = key.partition(word)
            return start or None, end or None
    # "2014.1.1-2016.10.31", "2014-01-01-2016-10-31": the hyphen in the middle of an odd number of them
    parts = key.split("-")
    if len(parts) % 2 == 0:
        half = len(parts) // 2
        return "-".join(parts[:half]) or None, "-".join(parts[half:]) or None
    return None, None


def _period_bound(text: str | None, *, first: bool, cell: Cell) -> date | None:
    if text is None:
        return None
    try:
        return _bound(text, first)
    except ValueError:
        raise ValueError(f"{show(cell)} 不是起止期间") from None


def _bound(text: str, first: bool) -> date:
    found = _DATE_ANYWHERE.fullmatch(text)
    if found:
        return _date_of(found)
    month = _MONTH.fullmatch(text)
    if month:
        year, mon = int(month.group("y")), int(month.group("m"))
        return date(year, mon, 1 if first else calendar.monthrange(year, mon)[1])
    year_only = _YEAR.fullmatch(text)
    if year_only:
        return date(int(year_only.group("y")), 1, 1) if first else date(int(year_only.group("y")), 12, 31)
    raise ValueError(text)


def parse_serial_range(cell: Cell) -> tuple[str | None, str | None]:
    """ "001071803900-001072079599" → both ends; one serial alone is a range of one."""
    text = clean_text(cell)
    if text is None:
        return None, None
    key = text_key(text)
    separators = (*vocab().range_separators, "-")
    start, end = _split_range(key) if any(w in key for w in separators) else (key, key)
    if not start or not end or not _DIGIT.search(start) or not _DIGIT.search(end):
        raise ValueError(f"{show(cell)} 不是序列号段")
    return start.upper(), end.upper()
