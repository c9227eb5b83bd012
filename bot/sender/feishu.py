"""Reminders to Feishu users (open_id) as messages from the app's bot, on their own channel (`feishu_chat`).

The recipient is a user's open_id; group robots have the `feishu` channel. The limits (1,000 a minute and
50 a second per app, 5 a second to one user; see bot/feishu/api.py) are kept by the API client's limiter,
which gives an item back with a retry time instead of waiting; 429 and 99991400/230020 are RateLimited,
other refusals (a user outside the app's availability, 230013) PermanentError, reported to officers like
any refusal.
"""

from __future__ import annotations

from bot.feishu import render
from bot.feishu.api import FeishuApi
from storage.models import OutboxItem


class FeishuChannel:
    name = "feishu_chat"

    def __init__(self, api: FeishuApi) -> None:
        self.api = api

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        msg_type, content = render.text_message(item.body, plain)
        await self.api.send(item.recipient, msg_type, content)
