"""What makes two cancellation rows the same record, however differently two lists write it.

A serial written as text keeps its leading zeros ("001071803900") and one read as a number loses them
(1071803900); one list names the unit by its credit code, the next by its name only; one gives the
time, the next the day. The key is made of what does not change: serials as numbers within their
project, and otherwise the matched unit (not its spelling), the project, the day and the quantity.
"""

from __future__ import annotations

from datetime import time

from compliance.names import account_key, name_key
from mail.records import CancellationLine


def serial_key(serial: str | None) -> str:
    """Digits with leading zeros stripped; a serial with letters keeps them, upper case, no spaces."""
    text = "".join((serial or "").split()).upper()
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text


def project_key(project_no: str | None) -> str:
    return serial_key(project_no)


def rekeyed(key: str, unit_id: int) -> str:
    """A record kept unmatched, keyed by its spelling, keyed again by the unit it now matches."""
    if not key.startswith("record:"):
        return key
    _, project, day, quantity, clock = key.removeprefix("record:").rsplit("|", 4)
    return f"record:unit:{unit_id}|{project}|{day}|{quantity}|{clock}"


def same_day_parts(key: str) -> tuple[str, str] | None:
    """A key without serials as (everything but the time, the time): a list that gives only the day
    names the same record as one that gives the day and a time."""
    if not key.startswith("record:"):
        return None
    loose, _, clock = key.rpartition("|")
    return loose, clock


def cancellation_key(record: CancellationLine, unit_id: int | None) -> str:
    project = project_key(record.project_no)
    if record.serial_from or record.serial_to:
        return f"serial:{project}:{serial_key(record.serial_from)}-{serial_key(record.serial_to)}"
    if unit_id is not None:
        who = f"unit:{unit_id}"
    else:
        who = record.code or name_key(record.holder_name) or account_key(record.account_no or "")
    at = record.cancelled_at
    clock = "" if at.time() == time() else at.strftime("%H:%M:%S")  # "": the list gave the day only
    return f"record:{who}|{project}|{at.date().isoformat()}|{record.quantity_t}|{clock}"
