"""A compliance cycle: its calendar, offset rules and reminder timing, read from a bundled TOML file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compliance import tomlfields as tf
from compliance.kinds import ALL_KINDS
from compliance.projects import normalize_project_no
from compliance.tomlfields import CycleError, Table
from compliance.workdays import workday_on_or_before

__all__ = [
    "Cycle",
    "CycleError",
    "Deadline",
    "all_cycles",
    "current_cycle",
    "cycle_for_obligation",
    "cycle_names",
    "load_cycle",
    "parse_cycle",
    "with_overrides",
]

_ROOT_REQUIRED = ("name", "title", "timezone", "years", "dates", "offsets", "targets", "reminders", "labels")
_ROOT_OPTIONAL = (
    "title_en",
    "source",
    "follow_ups",
    "penalty",
    "obligations",
    "sectors",
    "procedure",
    "mail_kinds",
    "sources",
    "uncertain",
)
SECTORS = ("power", "steel", "cement", "aluminium")
MAIL_KINDS = ("roster", "weekly_summary", "cancellation_list", "offset_operations")
PROCEDURES = ("cancellation", "operations")
_REQUIRED_INSTANTS = ("window_opens", "compliance_deadline")
_DATES_OPTIONAL = (
    "window_closes",
    "cancellation_deadline",
    "target_95_at",
    "report_due",
    "report_remind_on",
    "old_ccer_usable_until",
    "new_ccer_from",
)
# Calendar entry key -> the [dates] field that dates it, in the order entries on the same instant are listed.
_CALENDAR_SOURCES = {
    "window_opens": "window_opens",
    "window_closes": "window_closes",
    "cancellation_deadline": "cancellation_deadline",
    "target_95": "target_95_at",
    "compliance_deadline": "compliance_deadline",
    "report_due": "report_due",
    "old_ccer_usable_until": "old_ccer_usable_until",
    "new_ccer_from": "new_ccer_from",
}
# (earlier, later, may be equal): the order the steps of a cycle must keep.
_ORDER = (
    ("window_opens", "window_closes", False),
    ("window_closes", "cancellation_deadline", True),
    ("cancellation_deadline", "compliance_deadline", True),
    ("window_opens", "target_95_at", False),
    ("target_95_at", "compliance_deadline", True),
)  # pairs with an unset (optional) date are skipped
_MAX_LEAD_DAYS = 366


@dataclass(frozen=True)
class Deadline:
    key: str
    at: datetime
    label_zh: str
    label_en: str
    date_only: bool = False  # a day rather than an instant: `at` is that day's 00:00


@dataclass(frozen=True)
class Cycle:
    name: str
    title: str
    tz: ZoneInfo
    years: tuple[int, ...]
    window_opens: datetime
    window_closes: datetime
    cancellation_deadline: datetime
    target_95_at: datetime | None  # None: the cycle states no interim target
    compliance_deadline: datetime
    report_due: date | None  # None: no date stated for the report on units that did not comply
    report_remind_on: date | None
    vintage_cutoff: date | None
    excluded_projects: frozenset[str]
    cap_ratio: Decimal
    cap_per_year: bool
    reminder_time: time
    weekly_summary_weekday: int
    weekly_summary_time: time
    lead_days: Mapping[str, tuple[int, ...]] = field(hash=False)
    deadlines: tuple[Deadline, ...]
    title_en: str = ""
    target_ratio: Decimal = Decimal("0.95")
    old_ccer_usable_until: date | None = None
    new_ccer_from: date | None = None  # new CCER (registered after 2024-01-22) count from this day
    source: str = ""
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)  # field -> the text it comes from
    overridden: frozenset[str] = frozenset()  # uncertain fields the configuration corrected
    uncertain: Mapping[str, str] = field(default_factory=dict, hash=False)  # field -> why it is uncertain
    # The obligations a unit owes in the cycle: one per year ("2021", "2022"), or the first cycle's one
    # combined obligation ("2019-2020"). A roster's amount without a year belongs to the first of them.
    obligations: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ("power",)
    procedure: str = "cancellation"  # the rule table in compliance/procedures/
    mail_kinds: tuple[str, ...] = ("roster", "weekly_summary", "cancellation_list")
    # What follows a missed compliance deadline, as a unit reads it: {"zh": …, "en": …, "source": …}.
    penalty: Mapping[str, str] = field(default_factory=lambda: {"zh": "", "en": "", "source": ""}, hash=False)
    # The province's Friday: the summary composed for the officers, and a reminder if it has not left.
    summary_compose_time: time = time(9)
    summary_chase_time: time = time(15)

    @property
    def cancellations_known_at(self) -> datetime:
        """When whether a unit cancelled in time is surely known: the deadline day's cancellation list is
        sent after 17:00 (FORMATS.md §3), so at the latest by the next morning's reminder time."""
        next_day = self.cancellation_deadline.astimezone(self.tz).date() + timedelta(days=1)
        return datetime.combine(next_day, self.reminder_time, self.tz)


@dataclass(frozen=True)
class _Dates:
    window_opens: datetime
    window_closes: datetime
    cancellation_deadline: datetime
    target_95_at: datetime | None
    compliance_deadline: datetime
    report_due: date | None
    report_remind_on: date | None
    old_ccer_usable_until: date | None
    new_ccer_from: date | None

    def by_calendar_key(self) -> dict[str, datetime | date]:
        found = {key: getattr(self, source) for key, source in _CALENDAR_SOURCES.items()}
        return {key: when for key, when in found.items() if when is not None}


@dataclass(frozen=True)
class _Offsets:
    cap_ratio: Decimal
    cap_per_year: bool
    vintage_cutoff: date | None
    excluded_projects: frozenset[str]


@dataclass(frozen=True)
class _Reminders:
    reminder_time: time
    weekly_summary_weekday: int
    weekly_summary_time: time
    lead_days: Mapping[str, tuple[int, ...]]
    summary_compose_time: time = time(9)
    summary_chase_time: time = time(15)


def parse_cycle(text: str) -> Cycle:
    """TOML text -> Cycle; CycleError (a ValueError) naming the key at fault."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CycleError(f"周期文件不是有效的 TOML：{exc}") from exc
    return _parse_doc(doc)


def _parse_doc(doc: Table) -> Cycle:
    tf.check_keys(doc, "", _ROOT_REQUIRED, _ROOT_OPTIONAL)
    tz = _timezone(doc)
    dates = _dates(tf.sub_table(doc, "dates"), tz)
    offsets = _offsets(tf.sub_table(doc, "offsets"))
    reminders = _reminders(tf.sub_table(doc, "reminders"))
    targets = tf.sub_table(doc, "targets")
    tf.check_keys(targets, "targets", ("ratio",))
    cycle = Cycle(
        name=tf.text(doc, "name"),
        title=tf.text(doc, "title"),
        tz=tz,
        years=_years(doc),
        window_opens=dates.window_opens,
        window_closes=dates.window_closes,
        cancellation_deadline=dates.cancellation_deadline,
        target_95_at=dates.target_95_at,
        compliance_deadline=dates.compliance_deadline,
        report_due=dates.report_due,
        report_remind_on=dates.report_remind_on,
        vintage_cutoff=offsets.vintage_cutoff,
        excluded_projects=offsets.excluded_projects,
        cap_ratio=offsets.cap_ratio,
        cap_per_year=offsets.cap_per_year,
        reminder_time=reminders.reminder_time,
        weekly_summary_weekday=reminders.weekly_summary_weekday,
        weekly_summary_time=reminders.weekly_summary_time,
        lead_days=reminders.lead_days,
        summary_compose_time=reminders.summary_compose_time,
        summary_chase_time=reminders.summary_chase_time,
        deadlines=_deadlines(doc, dates.by_calendar_key(), tz),
        title_en=tf.text(doc, "title_en") if "title_en" in doc else "",
        target_ratio=tf.ratio(targets, "ratio", "targets"),
        old_ccer_usable_until=dates.old_ccer_usable_until,
        new_ccer_from=dates.new_ccer_from,
        sources=_notes(doc, "sources"),
        uncertain=_notes(doc, "uncertain"),
        source=tf.text(doc, "source") if "source" in doc else "",
        penalty=_penalty(doc),
        **_kinds(doc),
    )
    _check_order(cycle)
    return cycle


def _choices(doc: Table, key: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    if key not in doc:
        return default
    values = tf.str_list(doc, key, "")
    if unknown := [v for v in values if v not in allowed]:
        raise CycleError(f"周期文件字段 {key}：未知的取值 {unknown!r}（可用：{'、'.join(allowed)}）")
    return values


def _kinds(doc: Table) -> dict[str, Any]:
    name = tf.text(doc, "name")
    procedure = tf.text(doc, "procedure") if "procedure" in doc else "cancellation"
    if procedure not in PROCEDURES:
        raise CycleError(f"周期文件字段 procedure：未知的程序 {procedure!r}")
    obligations = tf.str_list(doc, "obligations", "") if "obligations" in doc else (name,)
    return {
        "obligations": obligations,
        "sectors": _choices(doc, "sectors", SECTORS, ("power",)),
        "procedure": procedure,
        "mail_kinds": _choices(
            doc, "mail_kinds", MAIL_KINDS, ("roster", "weekly_summary", "cancellation_list")
        ),
    }


def _notes(doc: Table, key: str) -> Mapping[str, str]:
    """[sources] / [uncertain]: a dotted field name ("dates.compliance_deadline") -> a sentence."""
    if key not in doc:
        return MappingProxyType({})
    table = tf.sub_table(doc, key)
    return MappingProxyType({name: tf.text(table, name, key) for name in table})


def _penalty(doc: Table) -> Mapping[str, str]:
    if "penalty" not in doc:
        return MappingProxyType({"zh": "", "en": "", "source": ""})
    table = tf.sub_table(doc, "penalty")
    tf.check_keys(table, "penalty", ("zh", "en", "source"))
    return MappingProxyType({key: tf.text(table, key, "penalty") for key in ("zh", "en", "source")})


def _timezone(doc: Table) -> ZoneInfo:
    name = tf.text(doc, "timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CycleError(f"周期文件字段 timezone：未知的时区 {name!r}") from None


def _years(doc: Table) -> tuple[int, ...]:
    years = tf.int_list(doc, "years", "", 2000, 2200)
    if not years or list(years) != sorted(years):
        raise CycleError(f"周期文件字段 years：应为按升序排列的非空年份列表，实际为 {list(years)!r}")
    return years


def _optional_date(table: Table, key: str, where: str) -> date | None:
    return tf.local_date(table, key, where) if key in table else None


def _dates(table: Table, tz: ZoneInfo) -> _Dates:
    tf.check_keys(table, "dates", _REQUIRED_INSTANTS, _DATES_OPTIONAL)
    compliance = tf.instant(table, "compliance_deadline", "dates", tz)

    def optional_instant(key: str, default: datetime | None) -> datetime | None:
        return tf.instant(table, key, "dates", tz) if key in table else default

    report_due = _optional_date(table, "report_due", "dates")
    # Reports are due "before" a day that may be a rest day: remind on the working day on or before it.
    remind_on = _optional_date(table, "report_remind_on", "dates") or (
        workday_on_or_before(report_due) if report_due else None
    )
    # Later cycles state no separate application or cancellation deadline: CCER may be used to the end.
    window_closes = optional_instant("window_closes", compliance) or compliance
    return _Dates(
        window_opens=tf.instant(table, "window_opens", "dates", tz),
        window_closes=window_closes,
        cancellation_deadline=optional_instant("cancellation_deadline", compliance) or compliance,
        target_95_at=optional_instant("target_95_at", None),
        compliance_deadline=compliance,
        report_due=report_due,
        report_remind_on=remind_on,
        old_ccer_usable_until=_optional_date(table, "old_ccer_usable_until", "dates"),
        new_ccer_from=_optional_date(table, "new_ccer_from", "dates"),
    )


def _offsets(table: Table) -> _Offsets:
    tf.check_keys(table, "offsets", ("cap_ratio", "cap_per_year"), ("vintage_cutoff", "excluded_projects"))
    excluded = tf.str_list(table, "excluded_projects", "offsets") if "excluded_projects" in table else ()
    return _Offsets(
        cap_ratio=tf.ratio(table, "cap_ratio", "offsets"),
        cap_per_year=tf.boolean(table, "cap_per_year", "offsets"),
        vintage_cutoff=_optional_date(table, "vintage_cutoff", "offsets"),
        excluded_projects=frozenset(normalize_project_no(no) for no in excluded),
    )


def _reminders(table: Table) -> _Reminders:
    where = "reminders"
    tf.check_keys(
        table,
        where,
        ("time", "weekly_summary_weekday", "weekly_summary_time", "lead_days"),
        ("summary_compose_time", "summary_chase_time"),
    )
    optional = {
        key: tf.local_time(table, key, where)
        for key in ("summary_compose_time", "summary_chase_time")
        if key in table
    }
    return _Reminders(
        reminder_time=tf.local_time(table, "time", where),
        weekly_summary_weekday=tf.integer(table, "weekly_summary_weekday", where, 0, 6),
        weekly_summary_time=tf.local_time(table, "weekly_summary_time", where),
        lead_days=_lead_days(tf.sub_table(table, "lead_days", where)),
        **optional,
    )


def _lead_days(table: Table) -> Mapping[str, tuple[int, ...]]:
    tf.check_keys(table, "reminders.lead_days", ALL_KINDS)
    leads = {
        kind: tuple(sorted(tf.int_list(table, kind, "reminders.lead_days", 0, _MAX_LEAD_DAYS), reverse=True))
        for kind in ALL_KINDS
    }
    return MappingProxyType(leads)


def _deadlines(doc: Table, dated: Mapping[str, datetime | date], tz: ZoneInfo) -> tuple[Deadline, ...]:
    labels = tf.sub_table(doc, "labels")
    tf.check_keys(labels, "labels", dated)
    entries = []
    for key, when in dated.items():
        where = f"labels.{key}"
        label = tf.sub_table(labels, key, "labels")
        tf.check_keys(label, where, ("zh", "en"))
        entries.append(_entry(key, when, label, where, tz))
    entries += _follow_ups(doc, tz, taken=set(dated))
    return tuple(sorted(entries, key=lambda entry: entry.at))


def _entry(key: str, when: datetime | date, label: Table, where: str, tz: ZoneInfo) -> Deadline:
    zh, en = tf.text(label, "zh", where), tf.text(label, "en", where)
    if isinstance(when, datetime):
        return Deadline(key, when, zh, en)
    return Deadline(key, datetime.combine(when, time(0), tzinfo=tz), zh, en, date_only=True)


def _follow_ups(doc: Table, tz: ZoneInfo, taken: set[str]) -> list[Deadline]:
    items = doc.get("follow_ups", [])
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise CycleError("周期文件字段 follow_ups：应为表数组（[[follow_ups]]）")
    entries = []
    for index, item in enumerate(items):
        where = f"follow_ups[{index}]"
        tf.check_keys(item, where, ("key", "on", "zh", "en"))
        key = tf.text(item, "key", where)
        if key in taken:
            raise CycleError(f"周期文件字段 {where}.key：重复的日程键 {key!r}")
        taken.add(key)
        entries.append(_entry(key, tf.local_date(item, "on", where), item, where, tz))
    return entries


def _check_order(cycle: Cycle) -> None:
    for earlier, later, may_equal in _ORDER:
        first, second = getattr(cycle, earlier), getattr(cycle, later)
        if first is None or second is None:
            continue
        if first > second or (first == second and not may_equal):
            relation = "不晚于" if may_equal else "早于"
            raise CycleError(f"周期文件字段 dates.{earlier}（{first}）应{relation} dates.{later}（{second}）")
    last_day = cycle.compliance_deadline.date()
    if cycle.report_due is None or cycle.report_remind_on is None:
        return
    if cycle.report_due < last_day:
        raise CycleError(f"周期文件字段 dates.report_due（{cycle.report_due}）应不早于履约截止日 {last_day}")
    if not last_day <= cycle.report_remind_on <= cycle.report_due:
        raise CycleError(
            f"周期文件字段 dates.report_remind_on（{cycle.report_remind_on}）"
            "应在履约截止日与 dates.report_due 之间"
        )


@cache
def _bundled_names() -> tuple[str, ...]:
    entries = (resources.files("compliance") / "cycles").iterdir()
    names = (entry.name.removesuffix(".toml") for entry in entries if entry.name.endswith(".toml"))
    return tuple(sorted(names))


def cycle_names() -> list[str]:
    """The cycles bundled in compliance/cycles/, by name (the folder is read once)."""
    return list(_bundled_names())


def with_overrides(cycle: Cycle, overrides: Mapping[str, object]) -> Cycle:
    """The cycle with values the configuration corrects: only values its file marks uncertain.

    `overrides` maps dotted field names ("dates.window_closes") to TOML values.
    """
    if not overrides:
        return cycle
    if refused := sorted(key for key in overrides if key not in cycle.uncertain):
        raise CycleError(
            f"周期 {cycle.name}：只能更正周期文件标为存疑的值（{'、'.join(cycle.uncertain) or '无'}），"
            f"不能更正 {'、'.join(refused)}"
        )
    doc = tomllib.loads(_text(cycle.name))
    for key, value in overrides.items():
        *path, last = key.split(".")
        table: dict[str, Any] = doc
        for part in path:
            table = table.setdefault(part, {})
        table[last] = value
    try:
        corrected = _parse_doc(doc)
    except CycleError as exc:
        raise CycleError(f"周期 {cycle.name} 的配置更正（cycle_overrides）：{exc}") from exc
    return replace(corrected, overridden=frozenset(overrides))


def _text(name: str) -> str:
    return (resources.files("compliance") / "cycles" / f"{name}.toml").read_text(encoding="utf-8")


def all_cycles() -> list[Cycle]:
    """Every bundled cycle, in the order of their compliance deadlines."""
    return list(_all_cycles())


@cache
def _all_cycles() -> tuple[Cycle, ...]:
    return tuple(sorted((load_cycle(name) for name in cycle_names()), key=lambda c: c.compliance_deadline))


def current_cycle(at: datetime) -> Cycle:
    """The cycle whose compliance deadline is the next to come at `at`; after the last one, the last one."""
    cycles = all_cycles()
    return next((c for c in cycles if c.compliance_deadline >= at), cycles[-1])


def cycle_for_obligation(obligation: str) -> Cycle | None:
    """The cycle that owes `obligation` ("2021", "2019-2020", "2025"), if one is bundled."""
    return next((c for c in all_cycles() if obligation in c.obligations), None)


@cache
def load_cycle(name: str) -> Cycle:
    names = cycle_names()
    if name not in names:
        raise ValueError(f"未知的履约周期 {name!r}；已知的周期：{'、'.join(names)}")
    try:
        cycle = parse_cycle(_text(name))
    except CycleError as exc:
        raise CycleError(f"{name}.toml：{exc}") from exc
    if cycle.name != name:
        raise CycleError(f"{name}.toml：name 字段为 {cycle.name!r}，应与文件名 {name!r} 一致")
    return cycle
