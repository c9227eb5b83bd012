"""The sample corpus's units, copied by hand from samples/expected.json and the rosters it was built from.

complied_1214 is the 履约状态 column of the rosters dated 2021-12-14 (026/027-roster.eml); complied_final
is expected.json's `complied`, which the 2021-12-30 rosters already state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from compliance.status import ApplicationLine, Cancellation, UnitFacts

SHANGHAI = ZoneInfo("Asia/Shanghai")
SD, GD = "山东省", "广东省"
C, R, N = "confirmed", "rejected", "none"
OVER = ("offset_over_cap",)
DONE, SUBMIT, SURRENDER = "done", "submit_compliance", "surrender_allowances"


@dataclass(frozen=True)
class Sample:
    code: str
    province: str
    allowances_due_t: int
    offset_cap_t: int
    application: str
    requested_t: int
    confirmed_t: int
    cancelled_t: int
    complied_1214: bool
    complied_final: bool
    anomalies: tuple[str, ...]
    next_step_after_all: str

    def facts(self, complied: bool) -> UnitFacts:
        lines: tuple[ApplicationLine, ...] = ()
        if self.application != "none":
            # Project 0158 (云南某水电站项目, vintage 2014-01-01至2016-10-31) is in every summary.
            lines = (
                ApplicationLine(
                    "0158",
                    "云南某水电站项目",
                    datetime(2014, 1, 1).date(),
                    datetime(2016, 10, 31).date(),
                    self.requested_t,
                    None,
                    self.application,  # type: ignore[arg-type]
                ),
            )
        cancellations: tuple[Cancellation, ...] = ()
        if self.cancelled_t:
            # The last cancellation list of the corpus is dated 2021-12-04.
            cancellations = (Cancellation(self.cancelled_t, datetime(2021, 12, 4, 17, 40, tzinfo=SHANGHAI)),)
        return UnitFacts(
            self.code, self.code, self.province, self.allowances_due_t, complied, lines, cancellations
        )


UNITS = (
    Sample("9137132112TH3BJ194", SD, 3683910, 184195, C, 180500, 180500, 180500, True, True, (), DONE),
    Sample("913703082HD1TJ3Y9U", SD, 14110388, 705519, C, 642000, 642000, 214000, False, False, (), SUBMIT),
    Sample("91370218U49D4H3J40", SD, 7103905, 355195, C, 305400, 305400, 305400, True, True, (), DONE),
    Sample("913703191K6FMHDQ7R", SD, 16006344, 800317, C, 544200, 544200, 544200, True, True, (), DONE),
    Sample("913708265NQ72J9G55", SD, 3256213, 162810, R, 113900, 0, 0, False, True, (), DONE),
    Sample("91371406QA4XFD1Y5B", SD, 11327619, 566380, R, 571380, 0, 0, False, False, OVER, SURRENDER),
    Sample("91371619RE2T2Y8F5E", SD, 11188699, 559434, N, 0, 0, 0, True, True, (), DONE),
    Sample("91371329MB0YEB5K39", SD, 2778182, 138909, N, 0, 0, 0, False, False, (), SURRENDER),
    Sample("914405247CCXUF255C", GD, 10122734, 506136, C, 470700, 470700, 470700, True, True, (), DONE),
    Sample("91440923DBMWCY74XP", GD, 5876731, 293836, C, 267300, 267300, 89100, False, False, (), SUBMIT),
    Sample("91440116TJ58904D8W", GD, 11490833, 574541, C, 275700, 275700, 275700, True, True, (), DONE),
    Sample("91440215WUQYUMRH5G", GD, 14187508, 709375, C, 347500, 347500, 347500, True, True, (), DONE),
    Sample("91441621C1626E531J", GD, 807827, 40391, R, 38300, 0, 0, False, True, (), DONE),
    Sample("91440412K02U6KC433", GD, 12456458, 622822, R, 627822, 0, 0, False, False, OVER, SURRENDER),
    Sample("91440404UFEFF9244D", GD, 6216980, 310849, N, 0, 0, 0, True, True, (), DONE),
    Sample("914417124NHX0QG90C", GD, 9561572, 478078, N, 0, 0, 0, False, False, (), SURRENDER),
)  # fmt: skip

# expected.json "reminders": the emitters' kinds and the officers' alerts on the two deadline mornings.
REMINDERS_1215 = {
    "emitters": {"913703082HD1TJ3Y9U": "cancel_ccer", "91440923DBMWCY74XP": "cancel_ccer"},
    "officers": {SD: ("target_95", 8, 4), GD: ("target_95", 8, 4)},
}
REMINDERS_1231 = {
    "emitters": {
        "913703082HD1TJ3Y9U": "compliance_deadline",
        "91371406QA4XFD1Y5B": "compliance_deadline",
        "91371329MB0YEB5K39": "compliance_deadline",
        "91440923DBMWCY74XP": "compliance_deadline",
        "91440412K02U6KC433": "compliance_deadline",
        "914417124NHX0QG90C": "compliance_deadline",
    },
    "officers": {SD: ("target_100", 8, 5), GD: ("target_100", 8, 5)},
}
