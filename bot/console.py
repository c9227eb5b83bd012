"""The console chat of `ccerbot demo`: the chat's answers, typed at a terminal."""

from __future__ import annotations

from bot.context import AppContext


def console_chat(ctx: AppContext) -> int:
    print("控制台聊天尚未接入（见聊天工作项）。")
    return 0
