"""A cancellation repeated by a later list counts once however the later list writes it: serials as
numbers, the unit by name instead of code, the day without the time."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from mail.record_keys import serial_key
from tests.intake.world import NCSC, SD_UNITS, daily_rows, daily_subject, seeded, status, take, xlsx_mail

UNIT = SD_UNITS[0]


def _list(rows: list[list[object]], day: str, when: str) -> bytes:
    return xlsx_mail(NCSC, daily_subject("山东省", day), when, rows)


def test_serials_written_as_numbers_are_the_same_serials(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    first = daily_rows([("2021-11-15 10:30", UNIT.name, UNIT.code, 1071803900, 1000)])
    again = daily_rows([("2021-11-15", UNIT.name, None, 1071803900, 1000)])
    for row in again[1:]:
        row[6], row[7] = int(str(row[6])), int(str(row[7]))  # as a spreadsheet keeps a number: no zeros
    take(sqlite_engine, _list(first, "2021-11-15", "2021-11-15T18:00"))
    take(sqlite_engine, _list(again, "2021-11-16", "2021-11-16T18:00"))
    assert status(sqlite_engine, UNIT).status.cancelled_t == 1000


def test_a_record_without_serials_is_the_same_by_its_unit_and_day(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    first = daily_rows([("2021-11-15 10:30", UNIT.name, UNIT.code, 1, 700)])
    again = daily_rows([("2021-11-15", UNIT.name.replace("有限公司", " 有限公司"), None, 1, 700)])
    for rows in (first, again):
        for row in rows[1:]:
            row[6] = row[7] = None
    take(sqlite_engine, _list(first, "2021-11-15", "2021-11-15T18:00"))
    take(sqlite_engine, _list(again, "2021-11-16", "2021-11-16T18:00"))
    assert status(sqlite_engine, UNIT).status.cancelled_t == 700


def test_serial_keys() -> None:
    assert serial_key("001071803900") == serial_key("1071803900") == "1071803900"
    assert serial_key(" cn 001 ") == "CN001"
