"""Reminders to Feishu users (open_id) as messages from the app's bot, and the group robots on the channel.

An item whose recipient names a configured Feishu group robot goes to that robot; any other recipient is
a user's open_id. The limits (1,000 a minute and 50 a second per app, 5 a second to one user; see
bot/feishu/api.py) are kept by the API client's limiter, which gives an item back with a retry time instead
of waiting; 429 and 99991400/230020 are RateLimited, other refusals (a user outside the app's availability,
230013) PermanentError, reported to officers like any refusal.
"""

from __future__ import annotations

from bot.feishu import render
from bot.feishu.api import FeishuApi
from bot.sender.loop import Channel
from storage.models import OutboxItem


class FeishuChannel:
    name = "feishu"

    def __init__(
        self, api: FeishuApi, groups: Channel | None = None, group_names: frozenset[str] = frozenset()
    ) -> None:
        self.api = api
        self.groups = groups
        self.group_names = group_names

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        if self.groups is not None and item.recipient in self.group_names:
            await self.groups.deliver(item, plain)
            return
        msg_type, content = render.text_message(item.body, plain)
        await self.api.send(item.recipient, msg_type, content)
