"""What the DingTalk, Feishu and WeCom chats share: the answering seam, de-duplication, text choices,
markdown, a wait that a stop cuts short.

The chats take two injected callables, `answer(peer, text)` and `press(peer, data)`, each returning a
`Reply`; they are synchronous and may be slow (a chart, an export), so the chats call them in a thread.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable

from bot.chat.peer import Peer
from bot.chat.reply import Button, Reply

Answer = Callable[[Peer, str], Reply]
Press = Callable[[Peer, str], Reply]

log = logging.getLogger(__name__)


async def reply_from(platform: str, seam: Answer | Press, peer: Peer, text: str) -> Reply | None:
    """`seam(peer, text)` in a thread; None, logged, when it failed (the peer is not answered)."""
    try:
        return await asyncio.to_thread(seam, peer, text)
    except Exception:
        log.exception("%s: answering %s failed", platform, peer)
        return None


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """True as soon as `stop` is set, False after `seconds` without it."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


class Seen:
    """The last `size` ids seen (event ids, message ids): a platform that pushes again is answered once."""

    def __init__(self, size: int = 4096) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        """True the first time `key` is seen."""
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


class Choices:
    """Buttons offered as numbered text choices, on a platform whose buttons cannot call back: the peer's
    last keyboard, so that "2" (or the button's label) sent next presses its second button."""

    def __init__(self) -> None:
        self._offered: dict[Peer, list[Button]] = {}
        self._lock = threading.Lock()

    def offer(self, peer: Peer, reply: Reply) -> list[Button]:
        buttons = [button for row in reply.keyboard for button in row]
        with self._lock:
            if buttons:
                self._offered[peer] = buttons
            else:
                self._offered.pop(peer, None)
        return buttons

    def pick(self, peer: Peer, text: str) -> str | None:
        """The callback data of the choice `text` names, or None when it names none."""
        choice = text.strip()
        with self._lock:
            buttons = self._offered.get(peer, [])
        if choice.isdigit() and 1 <= int(choice) <= len(buttons):
            return buttons[int(choice) - 1].data
        return next((b.data for b in buttons if b.label == choice), None)

    async def reply(self, platform: str, answer: Answer, press: Press, peer: Peer, text: str) -> Reply | None:
        """The reply to `text`: the choice it names pressed, or else `text` answered (see `reply_from`)."""
        data = self.pick(peer, text)
        if data is not None:
            return await reply_from(platform, press, peer, data)
        return await reply_from(platform, answer, peer, text)


_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<(?:b|strong)>(.*?)</(?:b|strong)>", re.S), r"**\1**"),
    (re.compile(r"<(?:i|em)>(.*?)</(?:i|em)>", re.S), r"*\1*"),
    (re.compile(r"<pre>(?:<code[^>]*>)?(.*?)(?:</code>)?</pre>", re.S), "```\n\\1\n```"),
    (re.compile(r"<code>(.*?)</code>", re.S), r"`\1`"),
    (re.compile(r'<a\s+href="([^"]*)">(.*?)</a>', re.S), r"[\2](\1)"),
    (re.compile(r"<[^<>]*>"), ""),
)


def markdown(text: str) -> str:
    """Telegram's HTML subset as the markdown DingTalk and Feishu cards show; other tags dropped."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return html.unescape(text)
