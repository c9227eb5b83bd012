"""A small world for intake tests: two provinces, their officers, a few units, and mail about them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.demo.story import load_story
from bot.reports import UnitReport, province_report, unit_report
from compliance.creditcode import make_code
from compliance.cycle import load_cycle
from mail import intake
from mail.intake import IntakeConfig, Outcome
from mail.trust import Senders
from tests.mail.corpus import XLSX_TYPE, build_message, xlsx_bytes
from tests.told import notifying

TZ = ZoneInfo("Asia/Shanghai")
CYCLE = load_cycle("2019-2020")
NCSC = "registry@ccersc.org.cn"
SD = "ccer@sthj.shandong.example"
GD = "tanjiaoyi@gdee.guangdong.example"
SENDERS = Senders.build([NCSC, "registry@ccer-sc.org.cn"], {"山东省": [SD], "广东省": [GD]})
# as the service takes mail: senders and officers are told
CONFIG = notifying(IntakeConfig(senders=SENDERS, tz=TZ, earliest=CYCLE.window_opens))
LATER = datetime(2022, 1, 10, tzinfo=TZ)


@dataclass(frozen=True)
class Unit:
    province: str
    name: str
    code: str
    account: str
    due: int


UNITS = (
    Unit("山东省", "济南测试发电有限公司", make_code("91370100MA3C00001"), "371000000001", 4_000_000),
    Unit("山东省", "青岛测试热电有限公司", make_code("91370200MA3C00002"), "371000000002", 10_000_000),
    Unit("山东省", "烟台（测试）能源有限公司", make_code("91370600MA3C00003"), "371000000003", 2_000_000),
    Unit("广东省", "广州测试电力有限公司", make_code("91440100MA5C00004"), "441000000004", 6_000_000),
    Unit("广东省", "深圳测试能源有限公司", make_code("91440300MA5C00005"), "441000000005", 8_000_000),
)
SD_UNITS = [u for u in UNITS if u.province == "山东省"]
GD_UNITS = [u for u in UNITS if u.province == "广东省"]

# the same headers as the demo's mail: the forms as the notice and the registries write them
_HEADERS = load_story()["headers"]
ROSTER_HEADER: tuple[str, ...] = tuple(_HEADERS["roster"])
WEEKLY_HEADER: tuple[str, ...] = tuple(_HEADERS["weekly"])
DAILY_HEADER: tuple[str, ...] = tuple(_HEADERS["daily"])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def roster_rows(units: Sequence[Unit], complied: dict[str, str] | None = None) -> list[list[object]]:
    rows: list[list[object]] = [["重点排放单位名录"], list(ROSTER_HEADER)]
    for n, u in enumerate(units, 1):
        status = (complied or {}).get(u.code)
        rows.append([n, u.province, u.name, u.code, u.account, u.due, None, status, f"unit{n}@example.cn"])
    return rows


def weekly_rows(entries: Sequence[tuple[Unit, int, str]], as_of: str) -> list[list[object]]:
    rows: list[list[object]] = [["CCER抵销配额清缴申请汇总表"], [f"截至日期：{as_of}"], list(WEEKLY_HEADER)]
    for n, (u, requested, result) in enumerate(entries, 1):
        rows.append(
            [
                n,
                u.province,
                u.name,
                u.code,
                u.due,
                requested,
                "0158",
                "云南某水电站项目",
                "2014-01-01至2016-10-31",
                result,
                None,
            ]
        )
    rows.append(["合计"])
    return rows


def daily_rows(entries: Sequence[tuple[str, str, str | None, int, int]]) -> list[list[object]]:
    """entries: (when, holder name, code or None, first serial, quantity)."""
    rows: list[list[object]] = [list(DAILY_HEADER)]  # a fresh copy: callers edit their rows
    for n, (when, holder, code, serial, quantity) in enumerate(entries, 1):
        rows.append(
            [
                n,
                when,
                holder,
                code,
                "0158",
                "云南某水电站项目",
                f"{serial:012d}",
                f"{serial + quantity - 1:012d}",
                quantity,
                "配额清缴抵销",
            ]
        )
    return rows


def xlsx_mail(
    sender: str,
    subject: str,
    when: str,
    rows: list[list[object]],
    *,
    to: str = "bot@example.cn",
    **options: object,
) -> bytes:
    data = xlsx_bytes(rows)
    return build_message(
        sender=sender,
        to=to,
        subject=subject,
        date=at(when),
        attachments=[("表.xlsx", data, XLSX_TYPE)],
        **options,
    )  # type: ignore[arg-type]


def roster_mail(
    sender: str, units: Sequence[Unit], when: str = "2021-10-25T15:00", complied: dict[str, str] | None = None
) -> bytes:
    province = units[0].province
    return xlsx_mail(sender, f"{province}2019-2020年度重点排放单位名录", when, roster_rows(units, complied))


def weekly_subject(province: str, as_of: str) -> str:
    return f"{province}CCER抵销配额清缴申请汇总表（截至{as_of}）"


def daily_subject(province: str, day: str) -> str:
    return f"全国碳市场重点排放单位CCER注销记录（{province}，{day}）"


def take(engine: Engine, raw: bytes, name: str = "mail.eml", now: datetime = LATER) -> Outcome:
    return intake.take(engine, raw, name, CONFIG, now)


def seeded(engine: Engine) -> Engine:
    """Both provinces' rosters taken in."""
    assert take(engine, roster_mail(SD, SD_UNITS)).outcome == "applied"
    assert take(engine, roster_mail(GD, GD_UNITS)).outcome == "applied"
    return engine


def status(engine: Engine, unit: Unit, when: datetime = LATER) -> UnitReport:
    report = unit_report(engine, CYCLE, unit.code, when)
    assert report is not None, f"no roster lists {unit.code} at {when}"
    return report


def unmatched(engine: Engine, province: str, when: datetime = LATER) -> int:
    return len(province_report(engine, CYCLE, province, when).unmatched)
