"""Reminders to DingTalk users as 1:1 robot messages (batchSend), on their own channel (`dingtalk_chat`).

The recipient is a user's staffId (userId), who gets a 1:1 message from the app's robot; group robots have
the `dingtalk` channel, so a recipient is never guessed between the two. The API's rate (20 calls a second
per API and app, see bot/dingtalk/api.py) is kept by the API client's limiter, which gives an item back
with a retry time instead of waiting; flow-controlled users and throttle answers are RateLimited, unknown
users PermanentError (reported to officers like any refusal).
"""

from __future__ import annotations

from bot.dingtalk import render
from bot.dingtalk.api import DingTalkApi
from storage.models import OutboxItem


class DingTalkChannel:
    name = "dingtalk_chat"

    def __init__(self, api: DingTalkApi) -> None:
        self.api = api

    async def deliver(self, item: OutboxItem, plain: bool = False) -> None:
        key, param = render.robot_markdown(item.body, plain)
        await self.api.send_to_users([item.recipient], key, param)
