"""Two provinces claiming one unit: never settled by who came first, and never in silence.

When the unit's credit code names a province (its administrative division), that province has it,
even if another took it first; when it names none, the unit stays where it is and the second claim is
refused. Either way the officers of both provinces and the national officers are told (bot.notices).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    code: str
    name: str
    held_by: str  # the province that had the unit
    claimed_by: str  # the province whose roster names it now
    decided: str | None  # the province the code's division gives it to; None: the code names none
