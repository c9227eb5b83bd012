"""Reminders through the outbox on DingTalk and Feishu: 1:1 to bound users, once with two senders on one
database; the platform's group robots on the same channel; a refusal reported like the others."""

from __future__ import annotations

import asyncio
from collections import Counter

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.chats import platform_channels
from bot.config import DingTalkConfig, FeishuConfig, GroupConfig, Settings
from bot.net import http_session
from bot.sender.groups import group_channels
from bot.sender.loop import Sender, SenderConfig
from storage.models import OutboxItem
from tests.groups.servers import DingTalkServer
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.reminders.helpers import GUARD_S, enqueue, item

FAST = SenderConfig(idle_poll_s=0.05)


def settings(dingtalk: DingTalkGateway, feishu: FeishuPlatform, groups: list[GroupConfig]) -> Settings:
    return Settings(
        dingtalk=DingTalkConfig(
            client_id=dingtalk.client_id,
            client_secret=SecretStr(dingtalk.client_secret),
            openapi_url=dingtalk.url,
            oapi_url=dingtalk.url,
        ),
        feishu=FeishuConfig(app_id=feishu.app_id, app_secret=SecretStr(feishu.app_secret), domain=feishu.url),
        groups=groups,
    )


async def test_reminders_reach_bound_users_once_with_two_senders(
    engine: Engine, dingtalk: DingTalkGateway, feishu: FeishuPlatform
) -> None:
    users = {
        "dingtalk_chat": ["staff001", "staff002", "officer01"],
        "feishu_chat": ["ou_emitter", "ou_officer"],
    }
    news = [
        item(f"{channel}-{user}-{n}", user, f"<b>提醒</b> {n}", channel=channel)
        for channel, ids in users.items()
        for user in ids
        for n in range(3)
    ]
    enqueue(engine, news)
    config = settings(dingtalk, feishu, [])
    async with http_session(config) as http:
        # two instances: each its own channels, API clients and token, one database
        one = Sender(engine, platform_channels(config, http), worker="one", config=FAST)
        two = Sender(engine, platform_channels(config, http), worker="two", config=FAST)
        keys = [n.key for n in news]
        results = await asyncio.wait_for(
            asyncio.gather(one.run_until_settled(keys), two.run_until_settled(keys)), GUARD_S
        )
    assert all(set(r.values()) == {"sent"} for r in results)
    assert one.tally.sent + two.tally.sent == len(news)
    batches = dingtalk.sent_of("batch")
    texts = Counter((b["userIds"][0], b["msgParam"]["text"]) for b in batches)
    assert len(texts) == 9 and set(texts.values()) == {1}
    assert batches[0]["msgKey"] == "sampleMarkdown" and "**提醒**" in batches[0]["msgParam"]["text"]
    sent = Counter((m["receive_id"], m["content"]["text"]) for m in feishu.sent_of("message"))
    assert len(sent) == 6 and set(sent.values()) == {1}
    assert ("ou_emitter", "提醒 0") in sent  # Feishu's text shows no markup: it is taken out


async def test_group_robots_and_users_have_channels_of_their_own_and_a_refusal_is_reported(
    sqlite_engine: Engine, dingtalk: DingTalkGateway, feishu: FeishuPlatform
) -> None:
    with DingTalkServer() as robots:
        group = GroupConfig(province="山东省", kind="dingtalk", url=robots.add_robot(), name="山东群")
        config = settings(dingtalk, feishu, [group])
        enqueue(
            sqlite_engine,
            [
                item("to-group", "山东群", "群提醒", channel="dingtalk", audience="officer"),
                item("to-user", "staff001", "单聊提醒", channel="dingtalk_chat"),
                item("to-stranger", "nobody", "无人", channel="dingtalk_chat"),
            ],
        )
        failed: list[tuple[str, str]] = []

        async def report(item: OutboxItem, reason: str) -> None:
            failed.append((item.key, reason))

        async with http_session(config) as http:
            channels = platform_channels(config, http) | group_channels(config, http)
            sender = Sender(sqlite_engine, channels, config=FAST, on_failure=report)
            states = await asyncio.wait_for(
                sender.run_until_settled(["to-group", "to-user", "to-stranger"]), GUARD_S
            )
        assert states == {"to-group": "sent", "to-user": "sent", "to-stranger": "failed"}
        [digest] = robots.delivered(group.url)
        assert "群提醒" in digest
    assert [b["userIds"] for b in dingtalk.sent_of("batch")] == [["staff001"]]
    [(key, reason)] = failed
    assert key == "to-stranger" and "nobody" in reason


async def test_a_throttled_platform_gives_the_item_back_with_a_retry_time(
    sqlite_engine: Engine, dingtalk: DingTalkGateway, feishu: FeishuPlatform
) -> None:
    dingtalk.throttle_next = 1
    feishu.throttle_next = 1
    enqueue(
        sqlite_engine,
        [
            item("d", "staff001", "一", channel="dingtalk_chat"),
            item("f", "ou_emitter", "一", channel="feishu_chat"),
        ],
    )
    config = settings(dingtalk, feishu, [])
    async with http_session(config) as http:
        sender = Sender(sqlite_engine, platform_channels(config, http), config=FAST)
        states = await asyncio.wait_for(sender.run_until_settled(["d", "f"]), GUARD_S)
    assert states == {"d": "sent", "f": "sent"}  # retried after the platform's short throttle
    assert sender.tally.rate_limited == 2
    assert len(dingtalk.sent_of("batch")) == 1 and len(feishu.sent_of("message")) == 1
