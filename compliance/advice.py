"""The rule table of a procedure: (a unit's state × the moment of the cycle) → next step, deadline, advice.

The tables are data (compliance/procedures/<name>.toml), each rule quoting the text it follows; this module
reads them, checks that every (state, moment) pair is decided exactly once, and looks a pair up.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Literal, cast, get_args

from compliance import tomlfields as tf
from compliance.cycle import Cycle
from compliance.tomlfields import CycleError, Table

Moment = Literal["window_open", "window_closed", "offset_closed", "overdue"]
MOMENTS: tuple[Moment, ...] = get_args(Moment)
NextStep = Literal[
    "done",
    "submit_application",
    "await_confirmation",
    "cancel_ccer",
    "submit_compliance",
    "surrender_allowances",
]
STEPS: tuple[NextStep, ...] = get_args(NextStep)
DEADLINES = ("window_closes", "cancellation_deadline", "compliance_deadline")


@dataclass(frozen=True)
class Rule:
    state: str
    moments: tuple[Moment, ...]
    step: NextStep
    deadline: str | None  # the Cycle attribute that dates the step; None: nothing is due
    say: str | None  # the advice text's key in templates/labels.toml [advice]
    source: str  # the sentence of the notice the rule follows

    def deadline_at(self, cycle: Cycle) -> datetime | None:
        return None if self.deadline is None else cast(datetime, getattr(cycle, self.deadline))


@dataclass(frozen=True)
class Procedure:
    name: str
    states: tuple[str, ...]
    rules: tuple[Rule, ...]

    def rule_for(self, state: str, moment: Moment) -> Rule:
        for rule in self.rules:
            if rule.state == state and moment in rule.moments:
                return rule
        raise KeyError(f"程序 {self.name} 没有为状态 {state} 在时段 {moment} 规定下一步")


def moment_of(cycle: Cycle, at: datetime) -> Moment:
    """Which part of the cycle `at` falls in; each boundary instant belongs to the later part."""
    if at < cycle.window_closes:
        return "window_open"
    if at < cycle.cancellation_deadline:
        return "window_closed"
    if at < cycle.compliance_deadline:
        return "offset_closed"
    return "overdue"


def parse_procedure(text: str) -> Procedure:
    doc = tomllib.loads(text)
    tf.check_keys(doc, "", ("procedure", "states", "rule"))
    states = tf.str_list(doc, "states", "")
    items = doc["rule"]
    if not isinstance(items, list):
        raise CycleError("程序文件字段 rule：应为表数组（[[rule]]）")
    rules = tuple(_rule(item, f"rule[{index}]", states) for index, item in enumerate(items))
    procedure = Procedure(tf.text(doc, "procedure"), states, rules)
    _check_coverage(procedure)
    return procedure


def _rule(item: Table, where: str, states: tuple[str, ...]) -> Rule:
    tf.check_keys(item, where, ("state", "moments", "step", "source"), ("deadline", "say"))
    state, step = tf.text(item, "state", where), tf.text(item, "step", where)
    moments = tf.str_list(item, "moments", where)
    deadline = tf.text(item, "deadline", where) if "deadline" in item else None
    if state not in states:
        raise CycleError(f"程序文件字段 {where}.state：未知的状态 {state!r}")
    if step not in STEPS:
        raise CycleError(f"程序文件字段 {where}.step：未知的下一步 {step!r}")
    if unknown := [m for m in moments if m not in MOMENTS]:
        raise CycleError(f"程序文件字段 {where}.moments：未知的时段 {unknown!r}")
    if deadline is not None and deadline not in DEADLINES:
        raise CycleError(f"程序文件字段 {where}.deadline：未知的截止时间 {deadline!r}")
    return Rule(
        state,
        cast(tuple[Moment, ...], moments),
        cast(NextStep, step),
        deadline,
        tf.text(item, "say", where) if "say" in item else None,
        tf.text(item, "source", where),
    )


def _check_coverage(procedure: Procedure) -> None:
    decided: dict[tuple[str, str], int] = {}
    for rule in procedure.rules:
        for moment in rule.moments:
            decided[(rule.state, moment)] = decided.get((rule.state, moment), 0) + 1
    for state in procedure.states:
        for moment in MOMENTS:
            count = decided.get((state, moment), 0)
            if count != 1:
                raise CycleError(
                    f"程序 {procedure.name}：状态 {state} 在时段 {moment} 由 {count} 条规则决定，应恰好 1 条"
                )


@cache
def load_procedure(name: str) -> Procedure:
    text = (resources.files("compliance") / "procedures" / f"{name}.toml").read_text(encoding="utf-8")
    try:
        return parse_procedure(text)
    except (CycleError, tomllib.TOMLDecodeError) as exc:
        raise CycleError(f"procedures/{name}.toml：{exc}") from exc
