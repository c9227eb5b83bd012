"""A backtracking regular-expression matcher that counts its steps.

Python's `re` is a backtracking engine and says nothing about the work it does; this one follows the
same order of trials (greedy and lazy repeats, alternatives left to right, lookarounds, a new start at
every position when searching) on the pattern as `re` parses it, and counts every instruction it runs.
A pattern whose count grows faster than its input does the same in `re`, where it costs seconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from re import _constants as C
from re import _parser as sre_parse
from typing import Any

Pred = Callable[[str], bool]


class Budget(Exception):
    """The step budget ran out: the pattern did far more work than its input justifies."""


@dataclass
class Program:
    code: list[tuple[Any, ...]] = field(default_factory=list)

    def emit(self, *instr: Any) -> int:
        self.code.append(instr)
        return len(self.code) - 1


def _is_word(ch: str, ascii_only: bool) -> bool:
    return (ch.isascii() or not ascii_only) and (ch.isalnum() or ch == "_")


def _category(cat: Any, ascii_only: bool) -> Pred:
    digit: Pred = (
        (lambda ch: "0" <= ch <= "9") if ascii_only else (lambda ch: unicodedata.decimal(ch, -1) >= 0)
    )
    space: Pred = (lambda ch: ch in " \t\n\r\f\v") if ascii_only else str.isspace

    def word(ch: str) -> bool:
        return _is_word(ch, ascii_only)

    table: dict[Any, Pred] = {
        C.CATEGORY_DIGIT: digit,
        C.CATEGORY_NOT_DIGIT: lambda ch: not digit(ch),
        C.CATEGORY_SPACE: space,
        C.CATEGORY_NOT_SPACE: lambda ch: not space(ch),
        C.CATEGORY_WORD: word,
        C.CATEGORY_NOT_WORD: lambda ch: not word(ch),
    }
    return table[cat]


class Compiler:
    def __init__(self, flags: int, ascii_only: bool) -> None:
        self.ignorecase = bool(flags & re.IGNORECASE)
        self.dotall = bool(flags & re.DOTALL)
        self.ascii_only = ascii_only

    def _fold(self, ch: str) -> str:
        return ch.lower() if self.ignorecase else ch

    def _literal(self, code: int) -> Pred:
        want = self._fold(chr(code))
        return lambda ch: self._fold(ch) == want

    def _in(self, items: list[tuple[Any, Any]]) -> Pred:
        negate = False
        preds: list[Pred] = []
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                preds.append(self._literal(av))
            elif op is C.RANGE:
                low, high = av
                preds.append(
                    lambda ch, lo=low, hi=high: (
                        lo <= ord(ch) <= hi
                        or (self.ignorecase and (lo <= ord(ch.lower()) <= hi or lo <= ord(ch.upper()) <= hi))
                    )
                )
            elif op is C.CATEGORY:
                preds.append(_category(av, self.ascii_only))
            else:
                raise NotImplementedError(op)
        return lambda ch: any(p(ch) for p in preds) != negate

    def compile(self, parsed: Any, prog: Program) -> None:
        for op, av in parsed:
            self._node(op, av, prog)

    def _node(self, op: Any, av: Any, prog: Program) -> None:
        if op is C.LITERAL:
            prog.emit("char", self._literal(av))
        elif op is C.NOT_LITERAL:
            lit = self._literal(av)
            prog.emit("char", lambda ch: not lit(ch))
        elif op is C.ANY:
            prog.emit("char", (lambda ch: True) if self.dotall else (lambda ch: ch != "\n"))
        elif op is C.IN:
            prog.emit("char", self._in(av))
        elif op is C.SUBPATTERN:
            self.compile(av[-1], prog)
        elif op is C.ATOMIC_GROUP:
            self.compile(av, prog)  # counted as if not atomic: an upper bound of the work
        elif op is C.BRANCH:
            self._branch(av[1], prog)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            self._repeat(av, op is C.MIN_REPEAT, prog)
        elif op is C.AT:
            prog.emit("at", av)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            direction, sub = av
            inner = Program()
            self.compile(sub, inner)
            inner.emit("match")
            width = sub.getwidth()[0] if direction < 0 else 0
            prog.emit("assert", inner, op is C.ASSERT_NOT, width)
        else:
            raise NotImplementedError(op)

    def _branch(self, alternatives: list[Any], prog: Program) -> None:
        jumps: list[int] = []
        for i, alt in enumerate(alternatives):
            if i < len(alternatives) - 1:
                split = prog.emit("split", None, None)
                prog.code[split] = ("split", split + 1, None)
                self.compile(alt, prog)
                jumps.append(prog.emit("jmp", None))
                prog.code[split] = ("split", split + 1, len(prog.code))
            else:
                self.compile(alt, prog)
        for j in jumps:
            prog.code[j] = ("jmp", len(prog.code))

    def _repeat(self, av: Any, lazy: bool, prog: Program) -> None:
        low, high, body = av
        for _ in range(low):
            self.compile(body, prog)
        if high == C.MAXREPEAT:
            top = prog.emit("split", None, None)
            mark = prog.emit("mark")
            self.compile(body, prog)
            prog.emit("progress", mark)
            prog.emit("jmp", top)
            out = len(prog.code)
            prog.code[top] = ("split", out, top + 1) if lazy else ("split", top + 1, out)
            return
        splits: list[int] = []
        for _ in range(high - low):
            splits.append(prog.emit("split", None, None))
            self.compile(body, prog)
        out = len(prog.code)
        for s in splits:
            prog.code[s] = ("split", out, s + 1) if lazy else ("split", s + 1, out)


def compile_pattern(pattern: re.Pattern[Any]) -> tuple[Program, bool]:
    source = pattern.pattern
    is_bytes = isinstance(source, bytes)
    text = source.decode("latin-1") if is_bytes else source
    flags = pattern.flags & ~re.UNICODE
    parsed = sre_parse.parse(text, flags)
    ascii_only = is_bytes or bool(pattern.flags & re.ASCII)
    prog = Program()
    Compiler(pattern.flags, ascii_only).compile(parsed, prog)
    prog.emit("match")
    return prog, ascii_only


class Counter:
    def __init__(self, budget: int) -> None:
        self.steps = 0
        self.budget = budget

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.budget:
            raise Budget


def _at(kind: Any, text: str, pos: int, ascii_only: bool) -> bool:
    n = len(text)
    if kind in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
        return pos == 0
    if kind is C.AT_END:
        return pos == n or (pos == n - 1 and text[pos] == "\n")
    if kind is C.AT_END_STRING:
        return pos == n
    before = pos > 0 and _is_word(text[pos - 1], ascii_only)
    after = pos < n and _is_word(text[pos], ascii_only)
    if kind is C.AT_BOUNDARY:
        return before != after
    if kind is C.AT_NON_BOUNDARY:
        return before == after
    raise NotImplementedError(kind)


def run(prog: Program, text: str, start: int, counter: Counter, ascii_only: bool) -> int | None:
    """The end of the first match from `start`, trying alternatives in the order `re` does."""
    stack: list[tuple[int, int, dict[int, int]]] = [(0, start, {})]
    while stack:
        pc, pos, marks = stack.pop()
        while True:
            counter.tick()
            instr = prog.code[pc]
            op = instr[0]
            if op == "char":
                if pos < len(text) and instr[1](text[pos]):
                    pc, pos = pc + 1, pos + 1
                    continue
                break
            if op == "split":
                stack.append((instr[2], pos, marks))
                pc = instr[1]
                continue
            if op == "jmp":
                pc = instr[1]
                continue
            if op == "mark":
                marks = {**marks, pc: pos}
                pc += 1
                continue
            if op == "progress":  # an empty pass through a loop ends the loop, as in `re`
                if marks.get(instr[1]) == pos:
                    break
                pc += 1
                continue
            if op == "at":
                if _at(instr[1], text, pos, ascii_only):
                    pc += 1
                    continue
                break
            if op == "assert":
                inner, negate, width = instr[1], instr[2], instr[3]
                at = pos - width
                end = run(inner, text, at, counter, ascii_only) if at >= 0 else None
                found = end is not None and (not width or end == pos)
                if found != negate:
                    pc += 1
                    continue
                break
            if op == "match":
                return pos
            raise NotImplementedError(op)
    return None


def search_steps(pattern: re.Pattern[Any], text: str, budget: int) -> int:
    """Steps to find every match in the text, as `finditer`, `findall` and `sub` do; raises Budget."""
    prog, ascii_only = compile_pattern(pattern)
    counter = Counter(budget)
    start = 0
    while start <= len(text):
        end = run(prog, text, start, counter, ascii_only)
        start = end if end is not None and end > start else start + 1
    return counter.steps


def alphabet(pattern: re.Pattern[Any]) -> list[str]:
    """The pieces of text that matter to a pattern: its literal runs, its literals and a member of each
    of its classes."""
    source = pattern.pattern
    text = source.decode("latin-1") if isinstance(source, bytes) else source
    found: set[str] = {"a", "1", " ", ".", "-", "\n"}

    def walk(parsed: Any) -> None:
        run = ""
        for op, av in parsed:
            run = run + chr(av) if op is C.LITERAL else ""
            if len(run) > 1:
                found.add(run)
            if op in (C.LITERAL, C.NOT_LITERAL):
                found.add(chr(av))
            elif op is C.IN:
                for item_op, item in av:
                    if item_op is C.LITERAL:
                        found.add(chr(item))
                    elif item_op is C.RANGE:
                        found.update((chr(item[0]), chr(item[1])))
            elif op is C.SUBPATTERN:
                walk(av[-1])
            elif op is C.BRANCH:
                for alt in av[1]:
                    walk(alt)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
                walk(av[2])
            elif op in (C.ASSERT, C.ASSERT_NOT):
                walk(av[1])
            elif op is C.ATOMIC_GROUP:
                walk(av)

    parsed = sre_parse.parse(text, pattern.flags & ~re.UNICODE)
    walk(parsed)
    nodes = list(parsed)
    # the beginnings of a match ("<", "<c", "<c "): repeated, each opens a trial that must end soon
    found.update(filter(None, (_shortest(nodes[:end]) for end in range(1, len(nodes) + 1))))
    return sorted(piece for piece in found if not any("\udc80" <= ch <= "\udcff" for ch in piece))


def _shortest(parsed: Any) -> str:
    """The shortest text the nodes match (lookarounds and anchors left out)."""
    out = []
    for op, av in parsed:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op in (C.NOT_LITERAL, C.ANY):
            out.append("a" if op is C.ANY or av != ord("a") else "b")
        elif op is C.IN:
            out.append(_member(av))
        elif op is C.SUBPATTERN:
            out.append(_shortest(av[-1]))
        elif op is C.BRANCH:
            out.append(min((_shortest(alt) for alt in av[1]), key=len))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            out.append(_shortest(av[2]) * av[0])
        elif op is C.ATOMIC_GROUP:
            out.append(_shortest(av))
    return "".join(out)


def _member(items: list[tuple[Any, Any]]) -> str:
    negated = any(op is C.NEGATE for op, _ in items)
    candidates = [chr(av) for op, av in items if op is C.LITERAL]
    candidates += [chr(av[0]) for op, av in items if op is C.RANGE]
    for op, av in items:
        if op is C.CATEGORY:
            candidates.append(
                {C.CATEGORY_DIGIT: "1", C.CATEGORY_SPACE: " ", C.CATEGORY_WORD: "a"}.get(av, "-")
            )
    if negated:
        return next(ch for ch in "a1 -x" if ch not in candidates)
    return candidates[0] if candidates else "a"
