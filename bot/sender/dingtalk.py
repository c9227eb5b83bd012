"""Reminders to DingTalk users as 1:1 robot messages (batchSend), and the group robots on the same channel.

An item whose recipient names a configured DingTalk group robot goes to that robot; any other recipient is
a user's staffId (userId), who gets a 1:1 message from the app's robot. The API's rate (20 calls a second
per API and app, see bot/dingtalk/api.py) is kept by the API client's limiter, which gives an item back
with a retry time instead of waiting; flow-controlled users and throttle answers are RateLimited, unknown
users PermanentError (reported to officers like any refusal).
"""

from __future__ import annotations

from bot.dingtalk import render
from bot.dingtalk.api import DingTalkApi
from bot.sender.loop import Channel
from storage.models import OutboxItem


class DingTalkChannel:
    name = "dingtalk"

    def __init__(
        self, api: DingTalkApi, groups: Channel | None = None, group_names: frozenset[str] = frozenset()
    ):
        self.api = api
        self.groups = groups
        self.group_names = group_names

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        if self.groups is not None and item.recipient in self.group_names:
            await self.groups.deliver(item, plain)
            return
        key, param = render.robot_markdown(item.body, plain)
        await self.api.send_to_users([item.recipient], key, param)
