"""Who is asking, on which platform: one person may be bound on several."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["telegram", "console", "dingtalk", "feishu", "wecom"]
PLATFORMS: tuple[Platform, ...] = ("telegram", "console", "dingtalk", "feishu", "wecom")


@dataclass(frozen=True)
class Peer:
    """A chat on one platform: a Telegram chat id, a DingTalk senderStaffId, a Feishu open_id…, as text."""

    platform: Platform
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"
