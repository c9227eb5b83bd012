"""Officer alerts to WeCom, DingTalk and Feishu group robots, by webhook, within each platform's limits."""

from __future__ import annotations

from bot.groups.client import DeliveryResult, deliver, label
from bot.groups.limits import Rate, RobotLimiter
from bot.groups.routing import group_channels, group_for, groups_for, recipient_of

__all__ = [
    "DeliveryResult",
    "Rate",
    "RobotLimiter",
    "deliver",
    "group_channels",
    "group_for",
    "groups_for",
    "label",
    "recipient_of",
]
