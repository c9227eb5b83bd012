"""An emitter's 申请表 (附件2) read into an ApplicationForm: from a sheet, a Word table or the body.

The form is laid out for people: labels beside their values (单位名称 | 某某电厂), and the CCER projects
as a small table (项目编号 | 项目名称 | 减排量产生时间 | 申请抵销量). Both are read from any of those
layouts. Nothing here judges the form: what could not be read is kept as a problem for the officer.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources

from compliance.creditcode import is_valid_code, normalize_code
from mail.records import ApplicationForm, FormProject
from mail.tables import Table
from mail.tables.model import Cell
from mail.values import clean_text, is_blank, parse_amount, parse_vintage, show
from mail.vocab import text_key

WORD_NAMES = (".docx",)
WORD_TYPES = ("wordprocessingml", "msword")


@dataclass(frozen=True, eq=False)  # one, from words(): hashed by identity, as the label check's cache key
class FormWords:
    marks: tuple[str, ...]
    not_marks: tuple[str, ...]
    fields: tuple[tuple[str, tuple[str, ...]], ...]  # in the order they are tried
    unit_fields: frozenset[str]
    line_fields: frozenset[str]
    label_max: int
    total_words: tuple[str, ...]
    end_words: tuple[str, ...]  # anywhere in a row's first cell
    end_starts: tuple[str, ...]  # at its start only

    def ends_table(self, cell: Cell) -> bool:
        """Whether a row whose first filled cell is `cell` ends the projects' table (the contact, the
        stamp, the date, the notes below it)."""
        if not isinstance(cell, str):
            return False
        key = text_key(cell)
        return any(w in key for w in self.end_words) or key.startswith(self.end_starts)

    def field_of(self, cell: Cell) -> str | None:
        return _field_of_text(self, cell) if isinstance(cell, str) else None

    def field_of_text(self, cell: str) -> str | None:
        key = text_key(cell).rstrip(":：")
        if not key or len(key) > self.label_max or self._first_chars.isdisjoint(key):
            return None
        return next((name for name, words in self.fields if any(w in key for w in words)), None)

    @cached_property
    def _first_chars(self) -> frozenset[str]:
        """A key with none of these holds no field's word: most cells, told in one set operation."""
        return frozenset(w[:1] for _, words in self.fields for w in words)

    def says_form(self, text: str) -> bool:
        key = text_key(text)
        return any(m in key for m in self.marks) and not any(m in key for m in self.not_marks)


@lru_cache(maxsize=1 << 14)  # every table's top rows are asked: the same headers come in every message
def _field_of_text(words: FormWords, cell: str) -> str | None:
    return words.field_of_text(cell)


@cache
def words() -> FormWords:
    raw = tomllib.loads((resources.files("mail") / "application_form.toml").read_text(encoding="utf-8"))
    layout = raw["layout"]
    return FormWords(
        tuple(text_key(m) for m in raw["marks"]),
        tuple(text_key(m) for m in raw["not_marks"]),
        tuple((name, tuple(text_key(w) for w in ws)) for name, ws in raw["fields"].items()),
        frozenset(layout["unit_fields"]),
        frozenset(layout["line_fields"]),
        int(layout["label_max"]),
        tuple(layout["total_words"]),
        tuple(text_key(w) for w in layout["end_words"]),
        tuple(text_key(w) for w in layout["end_starts"]),
    )


# ---- where the tables come from -------------------------------------------------------------------


def is_word(filename: str | None, content_type: str) -> bool:
    return (filename or "").lower().endswith(WORD_NAMES) or any(t in content_type for t in WORD_TYPES)


def word_tables(data: bytes, name: str) -> list[Table]:
    """The tables of a .docx; a merged cell holds its text once, in its first grid position."""
    import docx  # imported where it is used: the worker process reads Word files, nothing else does

    document = docx.Document(io.BytesIO(data))
    tables = []
    for number, table in enumerate(document.tables, start=1):
        rows: list[list[Cell]] = []
        for row in table.rows:
            seen: set[int] = set()
            cells: list[Cell] = []
            for cell in row.cells:
                first = id(cell._tc) not in seen  # python-docx repeats a merged cell per grid column
                seen.add(id(cell._tc))
                cells.append(cell.text.strip() or None if first else None)
            rows.append(cells)
        tables.append(Table(f"{name}#{number}", rows))
    return tables


def text_table(body: str) -> Table | None:
    """A form pasted into a plain-text body: cells split by tabs (copied from a sheet) or 'label：value'."""
    rows: list[list[Cell]] = []
    for line in body.splitlines():
        if "\t" in line:
            rows.append([c.strip() or None for c in line.split("\t")])
            continue
        label, colon, value = line.replace("：", ":").partition(":")
        if colon and words().field_of(label) is not None:
            rows.append([label.strip(), value.strip() or None])
    return Table("正文", rows) if rows else None


FORM_HEAD_ROWS = 40  # 附件2 is a page: its unit's fields, then one line per project

# ---- is it a form -----------------------------------------------------------------------------------


def is_form(table: Table, subject: str) -> bool:
    """A 申请表 by its subject or title, or by its layout: a label with its value beside it."""
    # a form's labels are at its top; a roster's thousands of rows below its header are not looked at
    found = _labels(table.rows[:FORM_HEAD_ROWS])
    if not ({"name", "code"} & set(found.values())) or "requested_t" not in found.values():
        return False
    titled = words().says_form(subject) or any(
        isinstance(c, str) and len(text_key(c)) > words().label_max // 2 and words().says_form(c)
        for row in table.rows[:5]
        for c in row
    )
    return titled or _side_by_side(table.rows, found)


def _labels(rows: Sequence[Sequence[Cell]]) -> dict[tuple[int, int], str]:
    field_of = words().field_of
    return {
        (r, c): name
        for r, row in enumerate(rows)
        for c, cell in enumerate(row)
        if (name := field_of(cell)) is not None
    }


def _side_by_side(rows: Sequence[Sequence[Cell]], found: dict[tuple[int, int], str]) -> bool:
    for (r, c), name in found.items():
        if name == "code":
            value = _right_of(rows, r, c, found)
            return value is not None and is_valid_code(normalize_code(show(value)))
    return False


def _right_of(
    rows: Sequence[Sequence[Cell]], r: int, c: int, found: dict[tuple[int, int], str]
) -> Cell | None:
    for col in range(c + 1, len(rows[r])):
        if (r, col) in found:
            return None
        if not is_blank(rows[r][col]):
            return rows[r][col]
    return None


# ---- reading it -------------------------------------------------------------------------------------


@dataclass
class _Reading:
    problems: list[str]

    def amount(self, cell: Cell, label: Cell) -> int | None:
        try:
            value = parse_amount(cell, ten_thousand="万吨" in text_key(show(label)))
        except ValueError as error:
            self.problems.append(f"{show(label)} {error}")
            return None
        if value is not None and value < 0:
            self.problems.append(f"{show(label)} {show(cell)} 为负数")
            return None
        return value

    def vintage(self, cell: Cell, label: Cell) -> tuple[object, object]:
        try:
            return parse_vintage(cell)
        except ValueError as error:
            self.problems.append(f"{show(label)} {error}")
            return None, None


def read_form(table: Table) -> ApplicationForm:
    rows = table.rows
    found = _labels(rows)
    reading = _Reading([])
    header = _line_header(rows, found)
    values: dict[str, tuple[Cell, Cell]] = {}  # field → (value, its label)
    projects: list[FormProject] = []
    body_rows: set[int] = set()
    if header is not None:
        projects, body_rows, values = _line_table(rows, header, found, reading)
    for (r, c), name in sorted(found.items()):
        if r == header or r in body_rows or name in values or name not in words().unit_fields:
            continue
        value = _right_of(rows, r, c, found)
        if value is None and r + 1 < len(rows) and (r + 1, c) not in found and c < len(rows[r + 1]):
            value = rows[r + 1][c] if not is_blank(rows[r + 1][c]) else None
        if value is not None:
            values[name] = (value, rows[r][c])
    if header is None:  # one project, written as labels and values
        projects = _single_project(rows, found, reading)
    return _form(table, values, projects, reading)


def _line_header(rows: Sequence[Sequence[Cell]], found: dict[tuple[int, int], str]) -> int | None:
    by_row: dict[int, set[str]] = {}
    for (r, _), name in found.items():
        by_row.setdefault(r, set()).add(name)
    line = words().line_fields
    return next((r for r in sorted(by_row) if "project_no" in by_row[r] and len(by_row[r] & line) >= 2), None)


def _line_table(
    rows: Sequence[Sequence[Cell]], header: int, found: dict[tuple[int, int], str], reading: _Reading
) -> tuple[list[FormProject], set[int], dict[str, tuple[Cell, Cell]]]:
    columns = {name: c for (r, c), name in found.items() if r == header}
    projects: list[FormProject] = []
    used: set[int] = set()
    unit: dict[str, tuple[Cell, Cell]] = {}
    for r in range(header + 1, len(rows)):
        row = rows[r]
        if any((r, c) in found for c in range(len(row))):
            break  # the labels below the table: the form goes on
        filled = [c for c in row if not is_blank(c)]
        if not filled:
            continue
        if words().ends_table(filled[0]):
            break
        first = text_key(filled[0]) if isinstance(filled[0], str) else ""
        if first.startswith(words().total_words):
            used.add(r)
            continue

        def cell(name: str, row: Sequence[Cell] = row) -> Cell:
            col = columns.get(name)
            return row[col] if col is not None and col < len(row) else None

        used.add(r)
        for name in words().unit_fields - {"requested_t"}:
            if name in columns and name not in unit and not is_blank(cell(name)):
                unit[name] = (cell(name), rows[header][columns[name]])
        if all(is_blank(cell(n)) for n in words().line_fields):
            continue
        label = rows[header][columns["requested_t"]] if "requested_t" in columns else "申请抵销量"
        start, end = reading.vintage(cell("vintage"), rows[header][columns.get("vintage", 0)])
        projects.append(
            FormProject(
                clean_text(cell("project_no")),
                clean_text(cell("project_name")),
                start,  # type: ignore[arg-type]
                end,  # type: ignore[arg-type]
                reading.amount(cell("requested_t"), label),
            )
        )
    return projects, used, unit


def _single_project(
    rows: Sequence[Sequence[Cell]], found: dict[tuple[int, int], str], reading: _Reading
) -> list[FormProject]:
    given: dict[str, tuple[Cell, Cell]] = {}
    for (r, c), name in sorted(found.items()):
        if name in ("project_no", "project_name", "vintage") and name not in given:
            value = _right_of(rows, r, c, found)
            if value is not None:
                given[name] = (value, rows[r][c])
    if not given:
        return []
    start, end = reading.vintage(*given["vintage"]) if "vintage" in given else (None, None)
    return [
        FormProject(
            clean_text(given.get("project_no", (None, None))[0]),
            clean_text(given.get("project_name", (None, None))[0]),
            start,  # type: ignore[arg-type]
            end,  # type: ignore[arg-type]
            None,
        )
    ]


def _form(
    table: Table, values: dict[str, tuple[Cell, Cell]], projects: list[FormProject], reading: _Reading
) -> ApplicationForm:
    def text(name: str) -> str | None:
        return clean_text(values[name][0]) if name in values else None

    def amount(name: str) -> int | None:
        return reading.amount(*values[name]) if name in values else None

    code = text("code")
    if code is not None:
        code = normalize_code(code)
        if not is_valid_code(code):
            reading.problems.append(f"统一社会信用代码 {code} 无效（长度或校验位错误）")
    stated = amount("requested_t")
    summed = sum(p.requested_t for p in projects if p.requested_t is not None) if projects else None
    if stated is not None and summed and stated != summed:
        reading.problems.append(f"申请抵销量 {stated:,} 吨与各项目之和 {summed:,} 吨不一致")
    requested = stated if stated is not None else summed
    if projects and len(projects) == 1 and projects[0].requested_t is None and requested is not None:
        only = projects[0]
        projects = [
            FormProject(only.project_no, only.project_name, only.vintage_start, only.vintage_end, requested)
        ]
    if text("name") is None and code is None:
        reading.problems.append("未填写重点排放单位名称和统一社会信用代码")
    if requested is None:
        reading.problems.append("未填写申请抵销量")
    if not any(p.project_no for p in projects):
        reading.problems.append("未填写 CCER 项目编号")
    return ApplicationForm(
        row=1,
        name=text("name"),
        code=code,
        allowances_due_t=amount("allowances_due_t"),
        requested_t=requested,
        account_no=text("account_no"),
        projects=tuple(projects),
        problems=tuple(dict.fromkeys(reading.problems)),
    )


def read_forms(tables: Iterable[Table], subject: str) -> list[ApplicationForm]:
    """The forms among the tables: none when no table is a 申请表 (then the mail is read as today)."""
    return [read_form(t) for t in tables if is_form(t, subject)]


def form_tables(
    attachments: Iterable[tuple[str | None, str, bytes]], text_body: str, limit: int
) -> list[Table]:
    """The tables only a form comes in: Word files (name, type, bytes) and a plain-text body.

    A Word file that cannot be read is passed over: the message is kept whole, and the officer sees it."""
    tables: list[Table] = []
    for filename, content_type, data in attachments:
        if not is_word(filename, content_type) or len(data) > limit:
            continue
        try:
            tables += word_tables(data, filename or "申请表.docx")
        except Exception:  # python-docx fails in many ways on a damaged file; reading must not
            continue
    body = text_table(text_body)
    return tables + ([body] if body is not None else [])
