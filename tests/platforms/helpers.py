"""A stand-in for the chat core at the answering seam: records who asked what, answers with HTML."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from bot.chat.peer import Peer
from bot.chat.reply import Attachment, Button, Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
KEYBOARD = ((Button("本省进度", "overview|"), Button("待办", "pending|")),)


@dataclass
class Core:
    """answer/press as the chats call them; `slow_s` makes each answer take that long."""

    slow_s: float = 0.0
    gate: threading.Event | None = None  # answers wait for it: an answer slower than any ack window
    asked: list[tuple[Peer, str]] = field(default_factory=list)
    pressed: list[tuple[Peer, str]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, peer: Peer, text: str) -> Reply:
        with self.lock:
            self.asked.append((peer, text))
            self.threads.add(threading.current_thread().name)
        if self.slow_s:
            time.sleep(self.slow_s)
        if self.gate is not None:
            self.gate.wait(30)
        if text == "/chart":
            return Reply("<b>图表</b>", attachment=Attachment("photo", PNG, "chart.png"))
        if text == "/export":
            return Reply("导出", attachment=Attachment("document", b"PK\x03\x04xlsx", "export.xlsx"))
        if text == "/menu":
            return Reply("请选择：", keyboard=KEYBOARD)
        return Reply(f"<b>收到</b> {text} &amp; OK")

    def press(self, peer: Peer, data: str) -> Reply:
        with self.lock:
            self.pressed.append((peer, data))
        return Reply(f"按了 {data}")


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for `check` (the servers and the chats run in other threads and tasks)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """`eventually`, from a test's event loop."""
    await asyncio.to_thread(eventually, check, timeout)


class Chat(Protocol):
    async def run(self, stop: asyncio.Event) -> None: ...


@asynccontextmanager
async def started(chat: Chat, ready: Awaitable[object], stop_timeout: float = 20.0) -> AsyncIterator[None]:
    """`chat.run` as a task, entered once `ready` is done; stopped, and waited for, on the way out."""
    stop = asyncio.Event()
    task = asyncio.create_task(chat.run(stop))
    await ready
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, stop_timeout)
