"""Which cycle, and which obligation of it, the figures of a message belong to.

A column header that names a year says it ("2021年度应清缴配额量" → the 2021 obligation of the cycle that owes
it); a figure without a year belongs to the cycle of the instant the message was learned, and to its first
obligation (FORMATS.md "Later cycles"; the first cycle's 2019-2020 counts as one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from compliance.cycle import Cycle, load_cycle
from mail.records import RosterRecord, RosterYear
from mail.rows import all_complied
from storage.cycles import cycle_at, resolve_obligation


@dataclass(frozen=True)
class RosterFigures:
    """What one roster row says about one cycle: its figures in all, and year by year."""

    cycle: str
    allowances_due_t: int | None
    surrendered_t: int | None
    complied: bool | None
    years: tuple[RosterYear, ...]


def message_cycle(obligations: Sequence[str], known_at: datetime) -> Cycle:
    """The cycle of the first obligation the headers name that a cycle owes; else that of the instant."""
    for obligation in obligations:
        resolved = resolve_obligation(obligation)
        if resolved is not None:
            return resolved[0]
    return cycle_at(known_at)


def roster_figures(record: RosterRecord, known_at: datetime) -> list[RosterFigures] | str:
    """One RosterFigures per cycle the row speaks of; a reason (str) when a year belongs to no cycle."""
    if not record.years:
        cycle = cycle_at(known_at)
        year = RosterYear(
            cycle.obligations[0], record.allowances_due_t, record.surrendered_t, record.complied
        )
        given = (year.allowances_due_t, year.surrendered_t, year.complied) != (None, None, None)
        return [_figures(cycle.name, record, (year,) if given else ())]
    by_cycle: dict[str, list[RosterYear]] = {}
    wholes: dict[str, RosterYear] = {}  # a column for the whole of a cycle ("2021-2022年度应清缴配额量")
    for year in record.years:
        resolved = resolve_obligation(year.obligation)
        if resolved is None:
            return f"{year.obligation}年度不属于任何已知的履约周期"
        cycle, obligation = resolved
        by_cycle.setdefault(cycle.name, [])
        if obligation is None:
            wholes[cycle.name] = year
        else:
            by_cycle[cycle.name].append(RosterYear(obligation, *_values(year)))
    if len(by_cycle) == 1:
        # the row's own totals (a column without a year, or the years added) are the cycle's
        name, years = next(iter(by_cycle.items()))
        obligations = load_cycle(name).obligations
        if len(obligations) == 1:  # "已清缴配额量", "履约状态" without a year: its only obligation's too
            years = [_filled(years[0] if years else RosterYear(obligations[0], None, None, None), record)]
        return [_figures(name, record, tuple(years))]
    return [_cycle_figures(name, tuple(years), wholes.get(name)) for name, years in by_cycle.items()]


def _filled(year: RosterYear, record: RosterRecord) -> RosterYear:
    return RosterYear(
        year.obligation,
        record.allowances_due_t if year.allowances_due_t is None else year.allowances_due_t,
        record.surrendered_t if year.surrendered_t is None else year.surrendered_t,
        record.complied if year.complied is None else year.complied,
    )


def _values(year: RosterYear) -> tuple[int | None, int | None, bool | None]:
    return year.allowances_due_t, year.surrendered_t, year.complied


def _figures(cycle: str, record: RosterRecord, years: tuple[RosterYear, ...]) -> RosterFigures:
    return RosterFigures(cycle, record.allowances_due_t, record.surrendered_t, record.complied, years)


def _cycle_figures(cycle: str, years: tuple[RosterYear, ...], whole: RosterYear | None) -> RosterFigures:
    if whole is not None:
        return RosterFigures(cycle, *_values(whole), years)
    dues = [y.allowances_due_t for y in years if y.allowances_due_t is not None]
    surrendered = [y.surrendered_t for y in years if y.surrendered_t is not None]
    return RosterFigures(
        cycle,
        sum(dues) if dues else None,
        sum(surrendered) if surrendered else None,
        all_complied(y.complied for y in years),
        years,
    )
