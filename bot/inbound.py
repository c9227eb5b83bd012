"""What the DingTalk, Feishu and WeCom chats share: the answering seam, de-duplication, text choices,
markdown, a wait that a stop cuts short, a file sent in chat fetched under the cap.

The chats take injected callables, `answer(peer, text)`, `press(peer, data)` and `hand_in(peer, file)`,
each returning a `Reply`; they are synchronous and may be slow (a chart, an export, a roster taken), so the
chats call them in a thread.
"""

from __future__ import annotations

import asyncio
import html
import logging
import mimetypes
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.chat.files import MAX_FILE_BYTES, Unfetched
from bot.chat.peer import Peer
from bot.chat.reply import Button, Reply
from bot.platform_http import Download, TooLarge
from bot.sender.policy import DeliveryError


@dataclass(frozen=True)
class SentFile:
    """A file (or a picture) sent in chat, as the chat core takes it: its bytes, or why there are none."""

    filename: str | None
    content_type: str
    data: bytes = b""
    unfetched: Unfetched | None = None


Answer = Callable[[Peer, str], Reply]
Press = Callable[[Peer, str], Reply]
HandIn = Callable[[Peer, SentFile], Reply]

log = logging.getLogger(__name__)


async def reply_from(platform: str, seam: Answer | Press, peer: Peer, text: str) -> Reply | None:
    """`seam(peer, text)` in a thread; None, logged, when it failed (the peer is not answered)."""
    try:
        return await asyncio.to_thread(seam, peer, text)
    except Exception:
        log.exception("%s: answering %s failed", platform, peer)
        return None


async def file_reply(
    platform: str,
    hand_in: HandIn,
    peer: Peer,
    filename: str | None,
    fetch: Callable[[int], Awaitable[Download]],
) -> Reply | None:
    """The reply to a file sent in chat: `fetch(limit)` gets its bytes from the platform (TooLarge past
    the cap), and the chat core answers — a failed download is answered too, never left unanswered."""
    try:
        got = await fetch(MAX_FILE_BYTES)
        sent = SentFile(filename, content_type_of(filename, got.content_type), got.data)
    except TooLarge as error:
        log.info("%s: a file from %s refused: %s", platform, peer, error)
        sent = SentFile(filename, content_type_of(filename, ""), unfetched="too_large")
    except DeliveryError as error:
        log.warning("%s: a file from %s not downloaded: %s", platform, peer, error)
        sent = SentFile(filename, content_type_of(filename, ""), unfetched="failed")
    try:
        return await asyncio.to_thread(hand_in, peer, sent)
    except Exception:
        log.exception("%s: answering %s's file failed", platform, peer)
        return None


def content_type_of(filename: str | None, served: str) -> str:
    """A file's type by its name, else as the platform served it; a picture without a name is an image
    (platforms serve pictures as application/octet-stream too)."""
    named = mimetypes.guess_type(filename)[0] if filename else None
    if named:
        return named
    if served and served != "application/octet-stream":
        return served
    return "application/octet-stream" if filename else "image/jpeg"


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
