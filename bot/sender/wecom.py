"""Reminders to WeCom members (userid) as app messages, and the WeCom group robots on the same channel.

An item whose recipient names a configured WeCom group robot goes to that robot; any other recipient is a
member's userid. The limits (30 messages a minute and 1,000 an hour to one member; see bot/wecom/api.py)
are kept by the API client's limiter, which gives an item back with a retry time instead of waiting;
45009 is RateLimited for a minute, an unknown member PermanentError.
"""

from __future__ import annotations

from bot.chat.reply import plain_text
from bot.sender.loop import Channel
from bot.wecom.api import WeComApi
from storage.models import OutboxItem


class WeComChannel:
    name = "wecom"

    def __init__(
        self, api: WeComApi, groups: Channel | None = None, group_names: frozenset[str] = frozenset()
    ) -> None:
        self.api = api
        self.groups = groups
        self.group_names = group_names

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        if self.groups is not None and item.recipient in self.group_names:
            await self.groups.deliver(item, plain)
            return
        await self.api.send(item.recipient, "text", {"content": plain_text(item.body)})
