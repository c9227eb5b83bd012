"""Officer alerts reach the group robots through the outbox: listed among the channels, merged into one
digest per robot, and a refusal reported to the officers by their other channels."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import aiohttp
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.notices.failures import enqueue_delivery_failed
from bot.notices.reminders import enqueue_due, reminders_at
from bot.sender.groups import group_channels
from bot.sender.loop import Sender
from compliance.cycle import load_cycle
from storage import access, outbox
from storage.engine import session_scope
from storage.models import OutboxItem
from tests.groups.servers import DingTalkServer, FeishuServer
from tests.intake.world import GD, SD, seeded

CYCLE = load_cycle("2019-2020")
MORNING = datetime.fromisoformat("2021-12-15T09:00:00+08:00")


def _settings(tmp_path: Path, dingtalk_url: str, feishu_url: str, dingtalk_secret: str) -> Settings:
    config = tmp_path / "ccerbot.toml"
    config.write_text(
        f"""
[senders]
ncsc = ["registry@ccersc.org.cn"]
[senders.provinces]
"山东省" = ["{SD}"]
"广东省" = ["{GD}"]

[[groups]]
province = "山东省"
kind = "dingtalk"
name = "山东群"
url = "{dingtalk_url}"
secret = "{dingtalk_secret}"

[[groups]]
province = "*"
kind = "feishu"
name = "全国群"
url = "{feishu_url}"
secret = "feishu-secret"
kinds = ["target_95", "target_100"]
""",
        encoding="utf-8",
    )
    return load_settings(str(config))


async def _send_all(engine: Engine, settings: Settings, keys: list[str]) -> dict[str, str]:
    async with aiohttp.ClientSession() as http:
        sender = Sender(engine, group_channels(settings, http))
        return await sender.run_until_settled(keys)


def test_alerts_go_to_the_groups_as_one_digest_each(sqlite_engine: Engine, tmp_path: Path) -> None:
    seeded(sqlite_engine)
    with DingTalkServer() as dingtalk, FeishuServer() as feishu:
        shandong = dingtalk.add_robot(secret="SECsd")
        national = feishu.add_robot(secret="feishu-secret")
        settings = _settings(tmp_path, shandong, national, "SECsd")
        due = {
            r.item.target: r.to_json()["channels"]
            for r in reminders_at(sqlite_engine, settings, CYCLE, MORNING)
        }
        assert due == {"山东省": ["dingtalk", "email", "feishu"], "广东省": ["email", "feishu"]}

        keys = [
            k
            for k in enqueue_due(sqlite_engine, settings, CYCLE, MORNING).keys
            if "|dingtalk:" in k or "|feishu:" in k
        ]
        states = asyncio.run(_send_all(sqlite_engine, settings, keys))

        assert sorted(states.values()) == ["sent"] * 3
        assert len(dingtalk.delivered(shandong)) == 1 and "95%" in dingtalk.delivered(shandong)[0]
        [digest] = feishu.delivered(national)  # both provinces' alerts, one message
        assert "山东省" in digest and "广东省" in digest
        assert dingtalk.rate_violations() == 0 and feishu.rate_violations() == 0


def test_a_refused_group_is_reported_to_the_officers_in_chat(sqlite_engine: Engine, tmp_path: Path) -> None:
    seeded(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        access.bind(session, 701, "officer", MORNING, province="山东省")
    with DingTalkServer() as dingtalk, FeishuServer() as feishu:
        shandong = dingtalk.add_robot(secret="SECright")
        settings = _settings(tmp_path, shandong, feishu.add_robot(secret="feishu-secret"), "SECwrong")
        keys = [k for k in enqueue_due(sqlite_engine, settings, CYCLE, MORNING).keys if "|dingtalk:" in k]
        failed: list[tuple[OutboxItem, str]] = []

        async def run() -> dict[str, str]:
            async with aiohttp.ClientSession() as http:

                async def report(item: OutboxItem, reason: str) -> None:
                    failed.append((item, reason))

                return await Sender(
                    sqlite_engine, group_channels(settings, http), on_failure=report
                ).run_until_settled(keys)

        assert list(asyncio.run(run()).values()) == ["failed"]
        assert dingtalk.delivered(shandong) == []
    [(item, reason)] = failed
    written = enqueue_delivery_failed(sqlite_engine, settings, CYCLE, item, reason, MORNING)
    assert sorted(k.split("|")[1] for k in written) == [f"email:{SD}", "telegram:701"]  # never the group
    assert "SECwrong" not in reason and shandong not in reason
    assert sorted(i.recipient for i in outbox.items(sqlite_engine) if i.kind == "delivery_failed") == [
        "701",
        SD,
    ]
