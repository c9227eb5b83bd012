"""A plain table (rows of cells) to typed records and row errors.

The table is what a reader made of one sheet: `list[list[Cell]]`, row 0 being the sheet's first row,
merged cells holding their value in the top-left cell and None elsewhere. Title rows may sit above the
header row; empty, total and note rows may sit among or below the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from compliance.creditcode import ALPHABET, CODE_LENGTH, is_valid_code, normalize_code
from mail.classify import province_from_text
from mail.records import (
    ApplicationRecord,
    ApplicationResult,
    CancellationRecord,
    MessageKind,
    OperationRecord,
    ParsedTable,
    ProjectLine,
    Record,
    RosterRecord,
    RosterYear,
    RowError,
)
from mail.values import (
    Cell,
    clean_text,
    find_date,
    is_blank,
    parse_amount,
    parse_clock,
    parse_date,
    parse_serial_range,
    parse_vintage,
    show,
)
from mail.vocab import Vocab, text_key, vocab

T = TypeVar("T")


# ---- the header --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    index: int  # 0-based row of the header (its first row when it takes two)
    body_start: int  # 0-based first row below the header
    kind: MessageKind
    columns: dict[str, int]
    labels: dict[str, str]  # field → the header text as the sheet shows it
    ten_thousand: frozenset[str]


def find_header(rows: list[list[Cell]]) -> tuple[int, dict[str, int], set[str]] | None:
    """The 0-based index of the header row, each field's column, and the amount fields given in 万吨."""
    found = locate_header(rows, kind_hint=None)
    return None if found is None else (found.index, found.columns, set(found.ten_thousand))


def locate_header(rows: list[list[Cell]], *, kind_hint: MessageKind | None) -> Header | None:
    words = vocab()
    for index, row in enumerate(rows[: words.scan_rows]):
        texts = [_header_text(cell) for cell in row]
        if _field_count(words, texts) < words.min_fields:
            continue
        body_start = index + 1
        combined = _with_subheader(words, texts, rows[index + 1] if index + 1 < len(rows) else [])
        if combined is not None:
            texts, body_start = combined, index + 2
        return _header(words, texts, index, body_start, kind_hint)
    return None


def _header_text(cell: Cell) -> str | None:
    return cell if isinstance(cell, str) and not is_blank(cell) else None


def _map_texts(words: Vocab, texts: list[str | None], kind: MessageKind) -> dict[str, tuple[int, str, bool]]:
    """field → (column, header text, 万吨); the first column wins, or goes to the field's second column."""
    mapping: dict[str, tuple[int, str, bool]] = {}
    for col, text in enumerate(texts):
        match = words.match_header(text, kind) if text else None
        if match is None or text is None:
            continue
        name = match.field if match.year is None else year_field(match.field, match.year)
        if name in mapping:
            name = words.second_column.get(name, "")
        if name and name not in mapping:
            mapping[name] = (col, " ".join(text.split()), match.ten_thousand)
    return mapping


YEAR_MARK = "@"  # "allowances_due_t@2021": the field of one obligation's column


def year_field(name: str, obligation: str) -> str:
    return f"{name}{YEAR_MARK}{obligation}"


def base_field(name: str) -> str:
    return name.split(YEAR_MARK, 1)[0]


def _field_count(words: Vocab, texts: list[str | None]) -> int:
    return max(len(set(_map_texts(words, texts, kind)) - words.ignored) for kind in words.kinds)


def _with_subheader(words: Vocab, texts: list[str | None], below: list[Cell]) -> list[str | None] | None:
    """A second header row ("序列号" over "起" / "止", "申请抵销量" over "（万吨）") joined to the first."""
    if any(not is_blank(c) and not isinstance(c, str) for c in below):
        return None
    combined = list(texts) + [None] * max(0, len(below) - len(texts))
    parent: str | None = None
    joined_any = False
    for col, cell in enumerate(below):
        parent = texts[col] if col < len(texts) and texts[col] else parent  # merged across columns
        sub = _header_text(cell)
        if sub is None:
            continue
        joined = (parent or "") + sub
        if _matches_any(words, joined):
            combined[col], joined_any = joined, True
        elif _matches_any(words, sub):
            combined[col] = sub
        else:
            return None
    return combined if joined_any else None


def _matches_any(words: Vocab, text: str) -> bool:
    return any(words.match_header(text, kind) is not None for kind in words.kinds)


def _header(
    words: Vocab, texts: list[str | None], index: int, body_start: int, hint: MessageKind | None
) -> Header:
    by_kind = {kind: _map_texts(words, texts, kind) for kind in words.kinds}
    present = {base_field(name) for name in set().union(*by_kind.values())} - words.ignored
    kind = kind_from_columns(present, hint)
    mapping = by_kind.get(kind) or max(by_kind.values(), key=len)
    return Header(
        index=index,
        body_start=body_start,
        kind=kind,
        columns={name: col for name, (col, _, _) in mapping.items()},
        labels={name: label for name, (_, label, _) in mapping.items()},
        ten_thousand=frozenset(
            name for name, (_, _, tt) in mapping.items() if tt and base_field(name) in words.amount_fields
        ),
    )


def kind_from_columns(fields: set[str], hint: MessageKind | None = None) -> MessageKind:
    """The kind the columns say; the subject's kind only breaks a tie between kinds the columns allow."""
    words = vocab()
    strong = [r.kind for r in words.kind_rules if not r.fallback and r.applies(fields)]
    candidates = strong or [r.kind for r in words.kind_rules if r.fallback and r.applies(fields)]
    if not candidates:
        return "unknown"
    return hint if hint in candidates else candidates[0]


# ---- title rows --------------------------------------------------------------------------------


def _title_cells(rows: list[list[Cell]]) -> Iterator[tuple[Cell, list[Cell]]]:
    for row in rows:
        for col, cell in enumerate(row):
            if not is_blank(cell):
                yield cell, row[col + 1 :]


def snapshot_date(rows: list[list[Cell]]) -> date | None:
    """The 截至 date of the title rows: in the same cell as the word, or in the next filled cell."""
    markers = vocab().snapshot_markers
    for cell, rest in _title_cells(rows):
        key = text_key(show(cell)) if not isinstance(cell, str) else text_key(cell)
        at = min((key.find(m) for m in markers if m in key), default=-1)
        if at < 0:
            continue
        found = find_date(key[at:])
        if found is None:
            found = next((_as_date(c) for c in rest if not is_blank(c)), None)
        if found is not None:
            return found
    return None


def _as_date(cell: Cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    return find_date(cell) if isinstance(cell, str) else None


def title_province(rows: list[list[Cell]]) -> str | None:
    for cell, _ in _title_cells(rows):
        if isinstance(cell, str) and (found := province_from_text(cell)):
            return found
    return None


# ---- one body row ------------------------------------------------------------------------------


@dataclass
class _Row:
    """One body row, read field by field; every problem found is kept for the row's error."""

    number: int  # 1-based, as Excel shows it
    cells: list[Cell]
    header: Header
    problems: list[str] = field(default_factory=list)

    def cell(self, name: str) -> Cell:
        col = self.header.columns.get(name)
        return self.cells[col] if col is not None and col < len(self.cells) else None

    def label(self, name: str) -> str:
        return self.header.labels.get(name) or vocab().labels.get(name, name)

    def has(self, name: str) -> bool:
        return name in self.header.columns

    def text(self, name: str) -> str | None:
        return clean_text(self.cell(name))

    def problem(self, reason: str) -> None:
        self.problems.append(reason)

    def error(self) -> RowError:
        return RowError(self.number, f"第{self.number}行：" + "；".join(self.problems))

    def amount(self, name: str, *, required: bool) -> int | None:
        if required and not self.has(name):
            self.problem(f"表中没有{self.label(name)}列")
            return None
        cell = self.cell(name)
        try:
            value = parse_amount(cell, ten_thousand=name in self.header.ten_thousand)
        except ValueError as exc:
            self.problem(f"{self.label(name)} {exc}")
            return None
        if value is None and required:
            self.problem(f"{self.label(name)}为空")
        if value is not None and value < 0:
            self.problem(f"{self.label(name)} {show(cell)} 为负数")
            return None
        return value

    def code(self) -> str | None:
        text = self.text("code")
        if text is None:
            return None
        code = normalize_code(text)
        label = self.label("code")
        bad = "".join(sorted({char for char in code if char not in ALPHABET}))
        if len(code) != CODE_LENGTH:
            self.problem(f"{label} {show(text)} 长度应为{CODE_LENGTH}位，实为{len(code)}位")
        elif bad:
            self.problem(f"{label} {code} 含有不允许的字符 {bad}")
        elif not is_valid_code(code):
            self.problem(f"{label} {code} 校验位错误")
        return code

    def status(self, name: str, meanings: dict[str, T], what: str = "状态") -> T | None:
        text = self.text(name)
        if text is None:
            return None
        if text_key(text) not in meanings:
            self.problem(f"{self.label(name)} {show(text)} 不是可识别的{what}")
            return None
        return meanings[text_key(text)]

    def province(self) -> str | None:
        # A cell that names no province (a city, a district) says nothing of it: the sender's applies.
        text = self.text("province")
        return None if text is None else province_from_text(text)

    def optional(self, name: str, parse: Callable[[Cell], T]) -> T | None:
        # An optional cell that cannot be read is left out rather than rejecting the row.
        try:
            return parse(self.cell(name))
        except ValueError:
            return None

    def identity(self, name_field: str) -> tuple[str | None, str | None]:
        name, code = self.text(name_field), self.code()
        if name is None and code is None:
            self.problem(f"{self.label(name_field)}和{self.label('code')}均为空")
        return name, code


# ---- which rows are records --------------------------------------------------------------------


def _body(rows: list[list[Cell]], header: Header) -> Iterator[_Row]:
    words = vocab()
    ignored = {col for name, col in header.columns.items() if name in words.ignored}
    data_cols = set(header.columns.values()) - ignored
    after_note = False
    for offset, cells in enumerate(rows[header.body_start :]):
        filled = [(col, c) for col, c in enumerate(cells) if not is_blank(c)]
        if not any(col in data_cols or col not in header.columns.values() for col, _ in filled):
            continue  # empty, or only a pre-filled 序号
        if _is_total(words, filled) or _is_note(words, filled) or (after_note and len(filled) == 1):
            after_note = after_note or _is_note(words, filled)
            continue
        if _repeats_header(cells, header, words.min_fields):
            continue  # the header again (a second page, a second block)
        yield _Row(header.body_start + offset + 1, cells, header)


def _repeats_header(cells: list[Cell], header: Header, enough: int) -> bool:
    same = 0
    for name, col in header.columns.items():
        cell = cells[col] if col < len(cells) else None
        same += isinstance(cell, str) and " ".join(cell.split()) == header.labels[name]
    return same >= enough


def _first_key(filled: list[tuple[int, Cell]]) -> str:
    return text_key(show(filled[0][1])) if filled else ""


def _is_total(words: Vocab, filled: list[tuple[int, Cell]]) -> bool:
    first = _first_key(filled)
    if any(first.startswith(m) for m in words.total_markers):
        return True
    keys = {text_key(c).rstrip(":") for _, c in filled if isinstance(c, str)}
    return bool(keys & set(words.total_markers))


def _is_note(words: Vocab, filled: list[tuple[int, Cell]]) -> bool:
    first = _first_key(filled)
    return any(first.startswith(p) for p in words.note_prefixes)


# ---- the three kinds ---------------------------------------------------------------------------


def _header_obligations(header: Header) -> list[str]:
    """The obligations the roster has columns for, in the order of their columns."""
    found = sorted(
        (col, name.split(YEAR_MARK, 1)[1]) for name, col in header.columns.items() if YEAR_MARK in name
    )
    return list(dict.fromkeys(obligation for _, obligation in found))


def _roster(rows: Iterator[_Row], header: Header) -> tuple[list[Record], list[RowError]]:
    records: list[Record] = []
    errors: list[RowError] = []
    obligations = _header_obligations(header)
    dues = [f for o in obligations if (f := year_field("allowances_due_t", o)) in header.columns]
    statuses = [o for o in obligations if year_field("complied", o) in header.columns]
    for row in rows:
        name, code = row.identity("name")
        before = len(row.problems)
        due = row.amount("allowances_due_t", required=not dues)
        years = tuple(y for y in (_roster_year(row, o) for o in obligations) if y is not None)
        blank = len(row.problems) == before and not any(y.allowances_due_t is not None for y in years)
        if due is None and dues and blank:
            row.problem(f"{'、'.join(row.label(f) for f in dues)}{'均' if len(dues) > 1 else ''}为空")
        surrendered = row.amount("surrendered_t", required=False)
        complied = row.status("complied", vocab().complied_words)
        record = RosterRecord(
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
        _keep(row, record, records, errors)
    return records, errors


def _years_complied(years: tuple[RosterYear, ...], obligations: list[str]) -> bool | None:
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


def _roster_year(row: _Row, obligation: str) -> RosterYear | None:
    year = RosterYear(
        obligation,
        row.amount(year_field("allowances_due_t", obligation), required=False),
        row.amount(year_field("surrendered_t", obligation), required=False),
        row.status(year_field("complied", obligation), vocab().complied_words),
    )
    given = (year.allowances_due_t, year.surrendered_t, year.complied)
    return None if all(value is None for value in given) else year


def _one_address(row: _Row) -> str | None:
    """A contact cell names one mailbox: binding codes and reminders must not go to a second one."""
    text = row.text("contact_email")
    if text is not None and text.count("@") > 1:
        row.problem(f"{row.label('contact_email')} {show(text)} 含有多个邮箱地址，只能填写一个")
        return None
    return text


def _keep(row: _Row, record: Record, records: list[Record], errors: list[RowError]) -> None:
    if row.problems:
        errors.append(row.error())
    else:
        records.append(record)


@dataclass
class _Unit:
    """A unit of a weekly summary being read: its first row and the rows that continue it."""

    row: _Row
    province: str | None
    name: str
    code: str | None
    allowances_due_t: int | None
    result: ApplicationResult
    confirmed_on: date | None
    lines: list[ProjectLine] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)

    def record(self) -> ApplicationRecord:
        return ApplicationRecord(
            self.row.number, self.province, self.name, self.code, self.allowances_due_t, tuple(self.lines)
        )


def _weekly(
    rows: Iterator[_Row], tz: ZoneInfo
) -> tuple[list[Record], list[RowError], list[tuple[str | None, str]]]:
    units: list[_Unit] = []
    orphans: list[_Row] = []
    for row in rows:
        if row.text("name") is not None or row.text("code") is not None:
            units.append(_new_unit(row, tz))
        elif units:
            _add_line(units[-1], row, row.status("result", vocab().result_words), tz)
        else:
            row.identity("name")  # continues nothing: no unit above it
            orphans.append(row)
    return _weekly_outcome(units, orphans)


def _new_unit(row: _Row, tz: ZoneInfo) -> _Unit:
    name, code = row.identity("name")
    result = row.status("result", vocab().result_words)
    unit = _Unit(
        row=row,
        province=row.province(),
        name=name or "",
        code=code,
        allowances_due_t=row.amount("allowances_due_t", required=False),
        result=result or "pending",
        confirmed_on=row.optional("confirmed_on", lambda c: _day(c, tz)),
    )
    _add_line(unit, row, result, tz)
    return unit


def _add_line(unit: _Unit, row: _Row, result: ApplicationResult | None, tz: ZoneInfo) -> None:
    """One project of the unit; a blank result or date is the unit's (merged cells)."""
    requested = row.amount("requested_t", required=True)
    confirmed = row.amount("confirmed_t", required=False)
    line_result = result or unit.result
    confirmed_on = row.optional("confirmed_on", lambda c: _day(c, tz))
    if confirmed_on is None and line_result == unit.result:
        confirmed_on = unit.confirmed_on
    start, end = row.optional("vintage", parse_vintage) or (None, None)
    unit.rows.append(row)
    if row.problems or requested is None:
        return
    line = ProjectLine(
        row.number, row.text("project_no"), row.text("project_name"), start, end,
        requested, confirmed, line_result, confirmed_on,
    )  # fmt: skip
    unit.lines.append(line)


def _day(cell: Cell, tz: ZoneInfo) -> date | None:
    moment = parse_date(cell, tz)
    return None if moment is None else moment.date()


def _weekly_outcome(
    units: list[_Unit], orphans: list[_Row]
) -> tuple[list[Record], list[RowError], list[tuple[str | None, str]]]:
    # A unit is applied whole or not at all: a summary is a full snapshot, and part of a unit's
    # projects would understate what it asked for.
    records: list[Record] = []
    refused: list[tuple[str | None, str]] = []
    errors = [row.error() for row in orphans]
    for unit in units:
        bad = [r for r in unit.rows if r.problems]
        if not bad:
            records.append(unit.record())
            continue
        refused.append((unit.code, unit.name))
        for row in unit.rows:
            if not row.problems:
                row.problem(f"与第{unit.row.number}行同属一家单位，该单位有行被退回，本行一并未采用")
            errors.append(row.error())
    errors.sort(key=lambda e: e.row)
    return records, errors, refused


def _cancellations(
    rows: Iterator[_Row], tz: ZoneInfo, default_date: date | None
) -> tuple[list[Record], list[RowError]]:
    records: list[Record] = []
    errors: list[RowError] = []
    for row in rows:
        holder, code = row.identity("holder_name")
        cancelled_at = _cancelled_at(row, tz, default_date)
        quantity = row.amount("quantity_t", required=True)
        serial_from, serial_to = _serials(row)
        if row.problems or cancelled_at is None or quantity is None:
            errors.append(row.error())
            continue
        records.append(
            CancellationRecord(
                row=row.number,
                cancelled_at=cancelled_at,
                holder_name=holder or "",
                code=code,
                account_no=row.text("account_no"),
                project_no=row.text("project_no"),
                project_name=row.text("project_name"),
                project_type=row.text("project_type"),
                serial_from=serial_from,
                serial_to=serial_to,
                quantity_t=quantity,
                purpose=row.text("purpose"),
            )
        )
    return records, errors


def _cancelled_at(row: _Row, tz: ZoneInfo, default_date: date | None) -> datetime | None:
    if not row.has("cancelled_at") and default_date is None:
        row.problem(f"表中没有{row.label('cancelled_at')}列")
        return None
    cell = row.cell("cancelled_at")
    try:
        moment = parse_date(cell, tz)
    except ValueError as exc:
        row.problem(f"{row.label('cancelled_at')} {exc}")
        return None
    if moment is None and default_date is not None:
        moment = datetime.combine(default_date, time(), tzinfo=tz)
    if moment is None:
        row.problem(f"{row.label('cancelled_at')}为空")
        return None
    clock = row.optional("cancelled_time", lambda c: _clock_of(c, tz))
    if clock is not None and moment.time() == time():
        moment = datetime.combine(moment.date(), clock, tzinfo=tz)
    return moment


def _clock_of(cell: Cell, tz: ZoneInfo) -> time | None:
    try:
        return parse_clock(cell)
    except ValueError:
        moment = parse_date(cell, tz)
        return None if moment is None else moment.time()


def _serials(row: _Row) -> tuple[str | None, str | None]:
    start, end = row.text("serial_from"), row.text("serial_to")
    if start is None and end is None:
        return row.optional("serial_range", parse_serial_range) or (None, None)
    return start, end


def _operations(
    rows: Iterator[_Row], tz: ZoneInfo, default_date: date | None
) -> tuple[list[Record], list[RowError]]:
    records: list[Record] = []
    errors: list[RowError] = []
    words = vocab()
    for row in rows:
        name, code = row.identity("name")
        operated_on = _operated_on(row, tz, default_date)
        quantity = row.amount("op_quantity_t", required=True)
        state = row.status("op_state", words.operation_words)
        if state is None and row.text("op_state") is None:
            missing = "为空" if row.has("op_state") else "列缺失"
            row.problem(f"{row.label('op_state')}{missing}")
        obligation = _obligation(row)
        ccer_kind = row.status("ccer_kind", words.ccer_kind_words, "CCER类型")
        if row.problems or operated_on is None or quantity is None or state is None:
            errors.append(row.error())
            continue
        records.append(
            OperationRecord(
                row=row.number,
                operated_on=operated_on,
                name=name or "",
                code=code,
                project_no=row.text("project_no"),
                project_name=row.text("project_name"),
                project_type=row.text("project_type"),
                obligation=obligation,
                quantity_t=quantity,
                state=state,
                operation_no=row.text("operation_no"),
                ccer_kind=ccer_kind,
            )
        )
    return records, errors


def _operated_on(row: _Row, tz: ZoneInfo, default_date: date | None) -> date | None:
    try:
        moment = parse_date(row.cell("operated_on"), tz)
    except ValueError as exc:
        row.problem(f"{row.label('operated_on')} {exc}")
        return None
    if moment is not None:
        return moment.date()
    if default_date is None:
        row.problem(f"{row.label('operated_on')}为空")
    return default_date


def _obligation(row: _Row) -> str | None:
    """抵销年度: a year ("2025", "2025年度", a number cell) or the first cycle's span ("2019-2020")."""
    cell = row.cell("offset_year")
    if is_blank(cell):
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = show(cell)
    found = vocab().obligation(text)
    if found is None:
        row.problem(f"{row.label('offset_year')} {text} 不是可识别的年度")
    return found


# ---- the table ---------------------------------------------------------------------------------


def parse_table(
    rows: list[list[Cell]],
    *,
    kind_hint: MessageKind | None,
    tz: ZoneInfo,
    default_date: date | None = None,
) -> ParsedTable:
    """Records and row errors of one table; `default_date` dates cancellations whose date cell is blank."""
    header = locate_header(rows, kind_hint=kind_hint)
    if header is None:
        top = rows[: vocab().scan_rows]
        return ParsedTable("unknown", 0, snapshot_date=snapshot_date(top), province_hint=title_province(top))
    table = ParsedTable(
        header.kind,
        header.index + 1,
        snapshot_date=snapshot_date(rows[: header.index]),
        province_hint=title_province(rows[: header.index]),
    )
    body = _body(rows, header)
    table.header_obligations = tuple(
        dict.fromkeys(y for label in header.labels.values() if (y := vocab().header_year(label)) is not None)
    )
    if header.kind == "roster":
        table.records, table.row_errors = _roster(body, header)
    elif header.kind == "weekly_summary":
        table.records, table.row_errors, table.refused_units = _weekly(body, tz)
    elif header.kind == "cancellation_list":
        table.records, table.row_errors = _cancellations(body, tz, default_date)
    elif header.kind == "offset_operations":
        table.records, table.row_errors = _operations(body, tz, default_date)
    return table
