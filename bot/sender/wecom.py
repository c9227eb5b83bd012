"""Reminders to WeCom members (userid) as app messages, on their own channel (`wecom_chat`).

The recipient is a member's userid; group robots have the `wecom` channel. The limits (30 messages a minute
and 1,000 an hour to one member; see bot/wecom/api.py) are kept by the API client's limiter, which gives an
item back with a retry time instead of waiting; 45009 is RateLimited for a minute, an unknown member
PermanentError.
"""

from __future__ import annotations

from bot.chat.reply import plain_text
from bot.wecom.api import WeComApi
from storage.models import OutboxItem


class WeComChannel:
    name = "wecom_chat"

    def __init__(self, api: WeComApi) -> None:
        self.api = api

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        await self.api.send(item.recipient, "text", {"content": plain_text(item.body)})
