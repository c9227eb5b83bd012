"""Who is asking, on which platform: one person may be bound on several.

A chat is keyed by (platform, id as text) wherever it is stored: a Telegram chat id, a DingTalk
senderStaffId, a Feishu open_id… never share a number space, so the platform is part of the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

Platform = Literal["telegram", "console", "dingtalk", "feishu", "wecom"]
PLATFORMS: tuple[Platform, ...] = ("telegram", "console", "dingtalk", "feishu", "wecom")


@dataclass(frozen=True)
class Peer:
    """A chat on one platform: a Telegram chat id, a DingTalk senderStaffId, a Feishu open_id…, as text."""

    platform: Platform
    id: str

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"not a chat platform: {self.platform!r}")

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Peer:
        """'telegram:1001' -> Peer('telegram', '1001'), the inverse of str()."""
        platform, sep, id_ = text.partition(":")
        if not sep or platform not in PLATFORMS:
            raise ValueError(f"not a chat: {text!r}")
        return cls(cast(Platform, platform), id_)


def as_peer(chat: Peer | int) -> Peer:
    """A Peer as given, or a Telegram chat id (a number: Telegram's ids are the only numeric ones)."""
    return chat if isinstance(chat, Peer) else Peer("telegram", str(chat))
