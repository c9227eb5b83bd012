"""A generated 2025 season (allowances due 2026-12-31): units in four sectors, rosters from the provinces,
and offset-operation lists from the national registry, as the mail would really come.

Deterministic for a given size and seed, so the demo, the tests and the benchmark see the same season.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.demo.story import BOT, TZ, Mail, xlsx_mail
from compliance.creditcode import make_code

REGISTRY = "lvyue@registry.demo.example"  # the national registry (中碳登), a `registry` sender
PROVINCES = {
    "山东省": ("37", "ccer@sthj.shandong.demo.example"),
    "河北省": ("13", "tanpf@hbepb.demo.example"),
    "江苏省": ("32", "ccer@sthjt.js.demo.example"),
    "广东省": ("44", "tanjiaoyi@gdee.demo.example"),
}
# 2025 roster by sector (CYCLES.md §3: power 2,087, steel 232, cement 962, aluminium 97), as weights.
SECTORS = (("发电", 2087), ("钢铁", 232), ("水泥", 962), ("铝冶炼", 97))
SUFFIX = {
    "发电": "发电有限公司",
    "钢铁": "钢铁集团有限公司",
    "水泥": "水泥有限公司",
    "铝冶炼": "铝业有限公司",
}
ROSTER_HEADER = [
    "序号",
    "省份",
    "重点排放单位名称",
    "统一社会信用代码",
    "行业",
    "2025年度应清缴配额量（吨）",
    "履约状态",
    "联系人邮箱",
]
OPERATIONS_HEADER = [
    "业务编号",
    "操作日期",
    "重点排放单位名称",
    "统一社会信用代码",
    "项目编号",
    "项目名称",
    "项目类型",
    "CCER类型",
    "抵销年度",
    "抵销量（吨）",
    "状态",
]
ROSTER_DAY = date(2026, 10, 9)
PROGRESS_DAYS = (date(2026, 11, 20), date(2026, 12, 18))
OPERATION_DAYS = (date(2026, 11, 13), date(2026, 11, 27), date(2026, 12, 11), date(2026, 12, 24))


@dataclass(frozen=True)
class Unit:
    province: str
    name: str
    code: str
    sector: str
    due_t: int
    offset_t: int  # 0: does not offset
    operates_on: date | None  # when its 全国履约抵销 operation is started
    used_on: date | None  # when the CCER is used in the compliance request (已抵销)
    complied_on: date | None


def units(count: int, seed: int = 2025) -> list[Unit]:
    rng = random.Random(seed)
    names = [name for name, _ in SECTORS]
    weights = [weight for _, weight in SECTORS]
    made = []
    for n in range(count):
        province = list(PROVINCES)[n % len(PROVINCES)]
        prefix, _ = PROVINCES[province]
        sector = rng.choices(names, weights)[0]
        due = rng.randrange(30_000, 8_000_000)
        offsets = rng.random() < 0.3
        operates = ROSTER_DAY + timedelta(days=rng.randrange(10, 70)) if offsets else None
        used = operates + timedelta(days=rng.randrange(5, 30)) if operates and rng.random() < 0.6 else None
        complied = (used or ROSTER_DAY) + timedelta(days=rng.randrange(3, 40)) if rng.random() < 0.7 else None
        made.append(
            Unit(
                province,
                f"{province[:2]}{n:05d}{SUFFIX[sector]}",
                make_code(f"91{prefix}0100MA{n:07d}"[:17]),
                sector,
                due,
                due * 5 // 100 if offsets else 0,
                operates,
                used,
                complied,
            )
        )
    return made


def _roster(province: str, members: list[Unit], day: date, progress: bool) -> Mail:
    rows = [
        [
            n,
            province,
            u.name,
            u.code,
            u.sector,
            u.due_t,
            ("已完成" if u.complied_on and u.complied_on <= day else "未完成") if progress else None,
            f"unit{n}@{u.code[2:8]}.demo.example",
        ]
        for n, u in enumerate(members, 1)
    ]
    what = f"名录及履约进度（截至{day.year}年{day.month}月{day.day}日）" if progress else "名录"
    subject = f"{province}2025年度重点排放单位{what}"
    when = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=17)
    sender = PROVINCES[province][1]
    return xlsx_mail(sender, BOT, subject, when, f"{province}名录{day:%Y%m%d}.xlsx", ROSTER_HEADER, rows)


def _operation_state(u: Unit, day: date) -> str | None:
    if u.operates_on is None or u.operates_on > day:
        return None
    return "已抵销" if u.used_on is not None and u.used_on <= day else "待抵销"


def _operations(all_units: list[Unit], day: date) -> Mail:
    """The registry's list of every operation so far, each in its state on `day` (so repeats change state)."""
    rows = []
    for n, u in enumerate(all_units):
        state = _operation_state(u, day)
        if state is None or u.operates_on is None:
            continue
        rows.append(
            [
                f"QYDX2026{n:06d}",
                u.operates_on.isoformat(),
                u.name,
                u.code,
                f"CCER-14-2024-{n % 40:04d}",
                f"某海上风电项目{n % 40}",
                "并网海上风力发电",
                "新",
                "2025",
                u.offset_t,
                state,
            ]
        )
    subject = f"全国碳市场重点排放单位全国履约抵销操作记录（截至{day.year}年{day.month}月{day.day}日）"
    when = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=17, minutes=30)
    return xlsx_mail(
        REGISTRY, BOT, subject, when, f"履约抵销操作记录{day:%Y%m%d}.xlsx", OPERATIONS_HEADER, rows
    )


def season(count: int, until: date, seed: int = 2025) -> list[tuple[datetime, Mail]]:
    """Every message of the season sent up to `until`, in the order they are sent."""
    made = units(count, seed)
    dated: list[tuple[datetime, Mail]] = []
    for province in PROVINCES:
        members = [u for u in made if u.province == province]
        for day, progress in ((ROSTER_DAY, False), *((d, True) for d in PROGRESS_DAYS)):
            if day <= until:
                dated.append(
                    (
                        datetime.combine(day, datetime.min.time(), TZ),
                        _roster(province, members, day, progress),
                    )
                )
    for day in OPERATION_DAYS:
        if day <= until:
            dated.append((datetime.combine(day, datetime.min.time(), TZ), _operations(made, day)))
    return sorted(dated, key=lambda item: item[0])
