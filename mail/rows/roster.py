"""The rows of a roster (控排企业名单): one unit each, with its figures as a whole or per obligation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

from mail.records import Record, RosterRecord, RosterYear, RowError
from mail.rows.body import BodyRow
from mail.rows.header import YEAR_MARK, Header, year_field
from mail.rows.readings import Readings
from mail.values import show
from mail.vocab import vocab


def _header_obligations(header: Header) -> tuple[str, ...]:
    """The obligations the roster has columns for, in the order of their columns."""
    found = sorted(
        (col, name.split(YEAR_MARK, 1)[1]) for name, col in header.columns.items() if YEAR_MARK in name
    )
    return tuple(dict.fromkeys(obligation for _, obligation in found))


def roster_records(rows: Iterator[BodyRow], header: Header) -> tuple[list[Record], list[RowError]]:
    records: list[Record] = []
    errors: list[RowError] = []
    obligations = _header_obligations(header)
    dues = tuple(f for o in obligations if (f := year_field("allowances_due_t", o)) in header.columns)
    statuses = tuple(o for o in obligations if year_field("complied", o) in header.columns)
    fields = tuple(_YearFields(o, *(year_field(f, o) for f in _YEAR_FIELDS)) for o in obligations)
    readings = Readings("roster", _record, fields, dues, statuses)
    for row in rows:
        record = readings.read(row)
        if record.row != row.number:  # read before, at another place
            record = replace(record, row=row.number)
        _keep(row, record, records, errors)
    return records, errors


_YEAR_FIELDS = ("allowances_due_t", "surrendered_t", "complied")


class _YearFields(NamedTuple):
    """An obligation and the fields of its columns, named once for the whole roster."""

    obligation: str
    allowances_due_t: str
    surrendered_t: str
    complied: str


def _record(
    row: BodyRow, obligations: tuple[_YearFields, ...], dues: tuple[str, ...], statuses: tuple[str, ...]
) -> RosterRecord:
    name, code = row.identity("name")
    before = len(row.problems)
    due = row.amount("allowances_due_t", required=not dues)
    years = tuple(y for y in (_roster_year(row, o) for o in obligations) if y is not None)
    blank = len(row.problems) == before and not any(y.allowances_due_t is not None for y in years)
    if due is None and dues and blank:
        row.problem(f"{'、'.join(row.label(f) for f in dues)}{'均' if len(dues) > 1 else ''}为空")
    surrendered = row.amount("surrendered_t", required=False)
    complied = row.status("complied", vocab().complied_words)
    return RosterRecord(
        row=row.number,
        province=row.province(),
        name=name or "",
        code=code,
        account_no=row.text("account_no"),
        # without a column for the whole, the row's figures are those of its years together
        allowances_due_t=due if due is not None else _sum(y.allowances_due_t for y in years),
        surrendered_t=surrendered if surrendered is not None else _sum(y.surrendered_t for y in years),
        complied=complied if complied is not None else _years_complied(years, statuses),
        contact_email=_one_address(row),
        years=years,
        sector=row.status("sector", vocab().sector_words, "行业"),
    )


def _years_complied(years: tuple[RosterYear, ...], obligations: tuple[str, ...]) -> bool | None:
    """The row's status from the year columns: a year whose status cell is blank is unknown."""
    given = {y.obligation: y.complied for y in years}
    return all_complied(given.get(o) for o in obligations)


def _sum(values: Iterator[int | None]) -> int | None:
    given = [v for v in values if v is not None]
    return sum(given) if given else None


def all_complied(values: Iterator[bool | None]) -> bool | None:
    """Complied when every year says so; not when one says not; else unknown."""
    given = list(values)
    if any(v is False for v in given):
        return False
    return True if given and all(v is True for v in given) else None


def _roster_year(row: BodyRow, fields: _YearFields) -> RosterYear | None:
    year = RosterYear(
        fields.obligation,
        row.amount(fields.allowances_due_t, required=False),
        row.amount(fields.surrendered_t, required=False),
        row.status(fields.complied, vocab().complied_words),
    )
    given = (year.allowances_due_t, year.surrendered_t, year.complied)
    return None if all(value is None for value in given) else year


def _one_address(row: BodyRow) -> str | None:
    """A contact cell names one mailbox: binding codes and reminders must not go to a second one."""
    text = row.text("contact_email")
    if text is not None and text.count("@") > 1:
        row.problem(f"{row.label('contact_email')} {show(text)} 含有多个邮箱地址，只能填写一个")
        return None
    return text


def _keep(row: BodyRow, record: Record, records: list[Record], errors: list[RowError]) -> None:
    if row.problems:
        errors.append(row.error())
    else:
        records.append(record)
