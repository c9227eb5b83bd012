"""Typed reads from a parsed TOML document, each failure naming the offending key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

Table = Mapping[str, object]
END_OF_DAY = time(23, 59, 59)


class CycleError(ValueError):
    """A cycle data file that cannot be used, with the key at fault in the message."""


def path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def check_keys(table: Table, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> None:
    required = tuple(required)
    allowed = set(required) | set(optional)
    missing = [key for key in required if key not in table]
    if missing:
        raise CycleError(f"周期文件缺少字段：{', '.join(path(where, key) for key in missing)}")
    unknown = sorted(key for key in table if key not in allowed)
    if unknown:
        raise CycleError(f"周期文件含有未知字段：{', '.join(path(where, key) for key in unknown)}")


def _wrong(where: str, key: str, expected: str, value: object) -> CycleError:
    return CycleError(f"周期文件字段 {path(where, key)}：应为{expected}，实际为 {value!r}")


def sub_table(table: Table, key: str, where: str = "") -> Table:
    value = table[key]
    if not isinstance(value, Mapping):
        raise _wrong(where, key, "表（[section]）", value)
    return value


def text(table: Table, key: str, where: str = "") -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise _wrong(where, key, "非空字符串", value)
    return value


def boolean(table: Table, key: str, where: str) -> bool:
    value = table[key]
    if not isinstance(value, bool):
        raise _wrong(where, key, "true 或 false", value)
    return value


def integer(table: Table, key: str, where: str, low: int, high: int) -> int:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _wrong(where, key, f"{low} 到 {high} 之间的整数", value)
    return value


def int_list(table: Table, key: str, where: str, low: int, high: int) -> tuple[int, ...]:
    value = table[key]
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) and low <= item <= high for item in value
    ):
        raise _wrong(where, key, f"由 {low} 到 {high} 之间的整数组成的列表", value)
    if len(set(value)) != len(value):
        raise _wrong(where, key, "不含重复值的列表", value)
    return tuple(value)


def str_list(table: Table, key: str, where: str) -> tuple[str, ...]:
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise _wrong(where, key, "由非空字符串组成的列表", value)
    return tuple(value)


def ratio(table: Table, key: str, where: str) -> Decimal:
    """A fraction in (0, 1]; written as a string ("0.05") to stay exact, a float is accepted too."""
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _wrong(where, key, '0 到 1 之间的比例（如 "0.05"）', value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _wrong(where, key, '0 到 1 之间的比例（如 "0.05"）', value) from None
    if not Decimal(0) < number <= Decimal(1):
        raise _wrong(where, key, '0 到 1 之间的比例（如 "0.05"）', value)
    return number


def local_date(table: Table, key: str, where: str) -> date:
    value = table[key]
    # A TOML datetime is a date too: refuse it, a time of day here would be silently dropped.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _wrong(where, key, "日期（如 2022-01-15）", value)
    return value


def local_time(table: Table, key: str, where: str) -> time:
    value = table[key]
    if not isinstance(value, time):
        raise _wrong(where, key, "时刻（如 09:00:00）", value)
    return value


def instant(table: Table, key: str, where: str, tz: ZoneInfo) -> datetime:
    """A local datetime is read in the cycle's time zone; one with an offset is converted to it. A date
    alone is the end of that day: later texts give deadlines as days, without a time."""
    value = table[key]
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, END_OF_DAY, tzinfo=tz)
    if not isinstance(value, datetime):
        raise _wrong(where, key, "日期时间（如 2021-12-10T17:00:00）", value)
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value.astimezone(tz)
