"""A Telegram Bot API server on loopback, enough of it for python-telegram-bot to run against.

The server runs its own event loop in a thread, so it works the same under sync tests, async tests and
an Application running in the test's loop; every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.servers import free_port

if TYPE_CHECKING:
    from telegram.ext import ApplicationBuilder

HOST = "127.0.0.1"
DEFAULT_TOKEN = "123456789:AAH-ccerbot-test-token-0123456789ab"
MAX_TEXT = 4096
MAX_CAPTION = 1024
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current message"
)
# Methods that put something in a chat: they count as "sent" and are subject to rate_limit().
OUTBOUND = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "sendPhoto",
        "sendChatAction",
        "answerCallbackQuery",
        "deleteMessage",
    }
)
_RATE_LIMITED = frozenset(m for m in OUTBOUND if m.startswith(("send", "edit")) and m != "sendChatAction")
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
    }
)
_NUMBER_PARAMS = frozenset({"offset", "limit", "timeout", "message_id", "reply_to_message_id", "cache_time"})
_BOOL_PARAMS = frozenset({"drop_pending_updates", "show_alert", "disable_notification", "protect_content"})


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass(frozen=True)
class Upload:
    field: str
    file_name: str | None
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class Call:
    """One request as the server saw it; `status` 200 means it took effect."""

    method: str
    params: Mapping[str, Any]
    status: int
    received_at: float
    description: str | None = None
    message_id: int | None = None
    upload: Upload | None = None

    @property
    def chat_id(self) -> int | str | None:
        value: int | str | None = self.params.get("chat_id")
        return value

    @property
    def text(self) -> str | None:
        value = self.params.get("text")
        return None if value is None else str(value)

    @property
    def caption(self) -> str | None:
        value = self.params.get("caption")
        return None if value is None else str(value)

    @property
    def parse_mode(self) -> str | None:
        value = self.params.get("parse_mode")
        return None if value is None else str(value)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        value = self.params.get("reply_markup")
        return value if isinstance(value, dict) else None

    @property
    def file_name(self) -> str | None:
        return self.upload.file_name if self.upload else None

    @property
    def file_bytes(self) -> bytes | None:
        return self.upload.data if self.upload else None


@dataclass
class _Fault:
    status: int
    retry_after: int
    description: str | None
    remaining: int


@dataclass
class _Bucket:
    per_second: float
    burst: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> int | None:
        """None when a token was available, else the whole seconds to wait (Telegram sends integers)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.per_second))


# --- formatted text --------------------------------------------------------------------------------

_HTML_TOKEN = re.compile(r"<(/?)([a-zA-Z][\w-]*)((?:\s[^<>]*)?)>|&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);|<")
_HTML_ATTR = re.compile(r"""([a-zA-Z][\w-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MD_RESERVED = set("_*[]()~`>#+-=|{}.!")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _OpenTag:
    name: str
    offset: int
    attrs: dict[str, str]


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: returns the plain text and its entities, or raises ApiError 400."""
    plain: list[str] = []
    length = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        data = text[position : match.start()]
        plain.append(data)
        length += _utf16_len(data)
        position = match.end()
        closing, name, attr_text, entity = match.groups()
        if entity is not None:
            char = _decode_entity(entity, match.group(0))
            plain.append(char)
            length += _utf16_len(char)
        elif name is None:
            raise _parse_error(f'Unsupported start tag "" at byte offset {_byte_offset(text, match.start())}')
        elif closing:
            entities.extend(_close_tag(text, match.start(), name.lower(), stack, length))
        else:
            stack.append(_open_tag(text, match.start(), name.lower(), attr_text, length))
    tail = text[position:]
    plain.append(tail)
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return "".join(plain), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _decode_entity(entity: str, raw: str) -> str:
    if entity.startswith("#x"):
        return chr(int(entity[2:], 16))
    if entity.startswith("#"):
        return chr(int(entity[1:]))
    return _NAMED_ENTITIES.get(entity.lower(), raw)


def _open_tag(text: str, index: int, name: str, attr_text: str, offset: int) -> _OpenTag:
    at = _byte_offset(text, index)
    if name not in _HTML_ENTITY_TYPES:
        raise _parse_error(f'Unsupported start tag "{name}" at byte offset {at}')
    attrs = {
        m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "")
        for m in _HTML_ATTR.finditer(attr_text)
    }
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    return _OpenTag(name, offset, attrs)


def _close_tag(text: str, index: int, name: str, stack: list[_OpenTag], offset: int) -> list[dict[str, Any]]:
    at = _byte_offset(text, index)
    if not stack:
        raise _parse_error(f"Unexpected end tag at byte offset {at}")
    if stack[-1].name != name:
        expected = stack[-1].name
        raise _parse_error(
            f'Unmatched end tag at byte offset {at}, expected "</{expected}>", found "</{name}>"'
        )
    tag = stack.pop()
    if offset == tag.offset:
        return []
    entity: dict[str, Any] = {
        "type": _HTML_ENTITY_TYPES[name],
        "offset": tag.offset,
        "length": offset - tag.offset,
    }
    if name == "a":
        entity["url"] = tag.attrs.get("href", "")
    if name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    if name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    return [entity]


def check_markdown_v2(text: str) -> None:
    """The MarkdownV2 mistake bots make most: a reserved character left unescaped."""
    index = 0
    line_start = True
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
        elif char == "`":
            fence = "```" if text.startswith("```", index) else "`"
            index = _skip_to(text, index + len(fence), fence, "Pre" if len(fence) == 3 else "Code")
        elif char == "]" and text.startswith("](", index):
            index = _skip_to(text, index + 2, ")", "TextUrl")
        elif char in "#+-={}.!()" or (char == ">" and not line_start):
            raise _parse_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        else:
            index += 1
        line_start = char == "\n"


def _skip_to(text: str, index: int, closer: str, entity: str) -> int:
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text.startswith(closer, index):
            return index + len(closer)
        else:
            index += 1
    raise _parse_error(f"Can't find end of {entity} entity at byte offset {_byte_offset(text, len(text))}")


def format_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        check_markdown_v2(text)
        return re.sub(r"\\(.)", r"\1", text), []
    return text, []


# --- request parsing -------------------------------------------------------------------------------


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Bot API parameters arrive as a query string, JSON, urlencoded or multipart form: all are accepted."""
    params: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        params.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(key, value.filename, value.file.read(), value.content_type)
            else:
                params[key] = value if isinstance(value, str) else bytes(value).decode()
    return {key: _decode_param(key, value) for key, value in params.items()}, uploads


def _decode_param(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key == "chat_id" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in _NUMBER_PARAMS:
        return _number(value)
    if key in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _number(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


# --- the server ------------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any], dict[str, Upload]], Awaitable[Any]]


class BotApiServer:
    """Speaks the Bot API for one bot token; records every call and can misbehave on request."""

    def __init__(self, token: str = DEFAULT_TOKEN, username: str = "ccerbot_test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self._port = free_port()
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100001)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(7000000001)
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._webhook_url = ""
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[float]] = {}
        self._bucket: _Bucket | None = None
        self._rate_limited = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._long_poll: asyncio.Future[str] | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, tuple[str, Handler]] = {}
        self._register_methods()

    # --- addresses -----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{HOST}:{self._port}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "ccerbot test", "username": self.username}

    def application_builder(self) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """A PTB ApplicationBuilder pointed at this server."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder().token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)
        )

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="botapi", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the Bot API server did not start")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            loop.call_soon_threadsafe(stopping.set)
        thread.join(10)

    def __enter__(self) -> BotApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        asyncio.run(self._serve(ready, failure))

    async def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)  # Telegram accepts uploads up to 50 MB
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # Cancelling on disconnect frees the long-poll slot of a client that went away, as Telegram does.
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        try:
            await runner.setup()
            await web.TCPSite(runner, HOST, self._port).start()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            await runner.cleanup()
            return
        ready.set()
        await self._stopping.wait()
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result("closing")
        await runner.cleanup()

    # --- recording -----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request received, failed ones included."""
        with self._lock:
            return list(self._calls)

    @property
    def sent(self) -> list[Call]:
        """Calls that put something in a chat and succeeded (sendMessage, editMessageText...)."""
        with self._lock:
            return [c for c in self._calls if c.status == 200 and c.method in OUTBOUND]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of successful sendMessage calls, optionally for one chat."""
        return [
            c.text or ""
            for c in self.sent
            if c.method == "sendMessage" and (chat_id is None or c.chat_id == chat_id)
        ]

    @property
    def rate_limited_count(self) -> int:
        """How many 429s rate_limit() has answered."""
        with self._lock:
            return self._rate_limited

    @property
    def is_long_polling(self) -> bool:
        """True while a getUpdates call is waiting for updates."""
        return self._long_poll is not None and not self._long_poll.done()

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed with an offset."""
        with self._lock:
            return len(self._updates)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    async def wait_sent(
        self, n: int, timeout: float = 5.0, method: str | tuple[str, ...] | None = None
    ) -> list[Call]:
        """Waits (without blocking the caller's loop) until `n` matching calls were sent; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            matching = self._matching(method)
            if len(matching) >= n:
                return matching
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(matching)} of {n} sent calls after {timeout}s: {matching!r}")
            await asyncio.sleep(0.01)

    def wait_sent_sync(
        self, n: int, timeout: float = 5.0, method: str | tuple[str, ...] | None = None
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(matching := self._matching(method)) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(matching)} of {n} sent calls after {timeout}s: {matching!r}")
            time.sleep(0.01)
        return matching

    def _matching(self, method: str | tuple[str, ...] | None) -> list[Call]:
        methods = (method,) if isinstance(method, str) else method
        return [c for c in self.sent if methods is None or c.method in methods]

    # --- updates -------------------------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        username: str | None = "tester",
        first_name: str = "Tester",
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Queues a text message from a user; a leading /command gets its bot_command entity."""
        sender = self._user(chat_id, user_id, username, first_name)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id, sender),
            "from": sender,
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
        if command is not None:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command.group(0))}]
        if reply_to_message_id is not None:
            with self._lock:
                replied = self._messages.get((chat_id, reply_to_message_id))
            message["reply_to_message"] = replied or self._stub_message(chat_id, reply_to_message_id)
        return self._push({"message": message})

    def push_document(
        self,
        chat_id: int,
        file_name: str,
        data: bytes,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
        user_id: int | None = None,
        username: str | None = "tester",
    ) -> dict[str, Any]:
        """Queues a document from a user; the bot can fetch its bytes with getFile and the file URL."""
        sender = self._user(chat_id, user_id, username, "Tester")
        document = self._store_file(file_name, data) | {"file_name": file_name, "mime_type": mime_type}
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id, sender),
            "from": sender,
            "document": document,
        }
        if caption is not None:
            message["caption"] = caption
        return self._push({"message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        message_id: int,
        user_id: int | None = None,
        username: str | None = "tester",
    ) -> dict[str, Any]:
        """Queues a press on an inline button of message `message_id` (a message the bot sent, if known)."""
        sender = self._user(chat_id, user_id, username, "Tester")
        with self._lock:
            message = self._messages.get((chat_id, message_id))
        query = {
            "id": str(next(self._callback_ids)),
            "from": sender,
            "chat_instance": str(abs(chat_id)),
            "data": data,
            "message": message or self._stub_message(chat_id, message_id),
        }
        return self._push({"callback_query": query})

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            update = {"update_id": next(self._update_ids), **payload}
            self._updates.append(update)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_long_poll, "wake")
        return update

    def _wake_long_poll(self, reason: str) -> None:
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result(reason)

    def _user(
        self, chat_id: int, user_id: int | None, username: str | None, first_name: str
    ) -> dict[str, Any]:
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 424242)
        user: dict[str, Any] = {
            "id": uid,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "zh-hans",
        }
        if username:
            user["username"] = username
        return user

    def _chat(self, chat_id: int | str, user: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if isinstance(chat_id, str):
            return {"id": -1001, "type": "channel", "title": chat_id, "username": chat_id.lstrip("@")}
        if chat_id > 0:
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": "Tester"}
            if user is not None:
                chat.update({k: user[k] for k in ("first_name", "username") if k in user})
            return chat
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _stub_message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
        }

    def _store_file(self, file_name: str | None, data: bytes) -> dict[str, Any]:
        number = next(self._file_ids)
        file_id = f"BQACAgUAAxkBAAI{number:06d}"
        suffix = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        with self._lock:
            self._files[file_id] = (f"documents/file_{number}.{suffix}", data)
        return {"file_id": file_id, "file_unique_id": f"AgAD{number:06d}", "file_size": len(data)}

    # --- fault injection -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail with `status` and have no effect."""
        with self._lock:
            self._faults.setdefault(method.lower(), []).append(
                _Fault(status, retry_after, description, times)
            )

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` take effect at once but are answered `seconds` later,
        like a Telegram reply lost to a client timeout: the message is delivered all the same."""
        with self._lock:
            self._delays.setdefault(method.lower(), []).extend([seconds] * times)

    def rate_limit(self, per_second: float | None, burst: float | None = None) -> None:
        """Sending beyond `per_second` (`burst` in reserve) gets 429 with retry_after; None lifts it."""
        with self._lock:
            if per_second is None:
                self._bucket = None
            else:
                size = burst if burst is not None else per_second
                self._bucket = _Bucket(per_second, size, size)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method.lower(), [])
            while queue and queue[0].remaining <= 0:
                queue.pop(0)
            if not queue:
                return None
            queue[0].remaining -= 1
            return queue[0]

    def _take_delay(self, method: str) -> float:
        with self._lock:
            queue = self._delays.get(method.lower(), [])
            return queue.pop(0) if queue else 0.0

    def _check_rate(self, method: str) -> None:
        if method not in _RATE_LIMITED:
            return
        with self._lock:
            wait = self._bucket.take() if self._bucket is not None else None
            if wait is not None:
                self._rate_limited += 1
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    # --- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received_at = time.time()
        params, uploads = await read_params(request)
        name = request.match_info["method"]
        canonical, handler = self._methods.get(name.lower(), (name, None))
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            fault = self._take_fault(canonical)
            if fault is not None:
                return self._fault_response(canonical, params, received_at, fault)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._check_rate(canonical)
            result = await handler(params, uploads)
        except ApiError as error:
            self._record(Call(canonical, params, error.status, received_at, error.description))
            return _error_response(error)
        upload = next(iter(uploads.values()), None)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        self._record(Call(canonical, params, 200, received_at, None, message_id, upload))
        delay = self._take_delay(canonical)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": result})

    def _fault_response(
        self, method: str, params: dict[str, Any], received_at: float, fault: _Fault
    ) -> web.StreamResponse:
        if fault.status == 502:
            # Telegram's front end answers 502 with an HTML page, not JSON.
            self._record(Call(method, params, 502, received_at, "Bad Gateway"))
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        error = ApiError(fault.status, fault.description or _default_description(fault), None)
        if fault.status == 429:
            error.retry_after = fault.retry_after
        self._record(Call(method, params, fault.status, received_at, error.description))
        return _error_response(error)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        wanted = request.match_info["path"]
        with self._lock:
            data = next((d for path, d in self._files.values() if path == wanted), None)
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    # --- methods -------------------------------------------------------------------------------

    def _register_methods(self) -> None:
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._true,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._true,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
        }
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    async def _true(self, params: dict[str, Any], uploads: dict[str, Upload]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any], uploads: dict[str, Upload]) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK_ACTIVE)
        limit = max(1, min(100, int(params.get("limit", 100))))
        timeout = float(params.get("timeout", 0))
        self._confirm(int(params.get("offset", 0)))
        updates = self._available(limit)
        if updates or timeout <= 0:
            return updates
        # As Telegram does, a new long poll ends the one already waiting: the older request gets the 409.
        self._wake_long_poll("conflict")
        poll: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._long_poll = poll
        try:
            reason = await asyncio.wait_for(asyncio.shield(poll), timeout)
        except TimeoutError:
            reason = "timeout"
        finally:
            if self._long_poll is poll:
                self._long_poll = None
        if reason == "conflict":
            raise ApiError(409, CONFLICT_POLL)
        if reason == "set_webhook":
            raise ApiError(409, CONFLICT_SET_WEBHOOK)
        return self._available(limit)

    def _confirm(self, offset: int) -> None:
        with self._lock:
            if offset < 0:
                del self._updates[: max(0, len(self._updates) + offset)]
            elif offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _available(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates[:limit])

    async def _delete_webhook(self, params: dict[str, Any], uploads: dict[str, Upload]) -> bool:
        with self._lock:
            self._webhook_url = ""
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    async def _set_webhook(self, params: dict[str, Any], uploads: dict[str, Upload]) -> bool:
        url = str(params.get("url", ""))
        with self._lock:
            self._webhook_url = url
            if params.get("drop_pending_updates"):
                self._updates.clear()
        if url:
            self._wake_long_poll("set_webhook")
        return True

    async def _get_webhook_info(self, params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        with self._lock:
            return {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    def _commands_key(self, params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + str(params.get("language_code", ""))

    async def _set_my_commands(self, params: dict[str, Any], uploads: dict[str, Upload]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        with self._lock:
            self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(
        self, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any], uploads: dict[str, Upload]) -> bool:
        with self._lock:
            self._commands.pop(self._commands_key(params), None)
        return True

    def _chat_id(self, params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) and not str(chat_id).startswith("@"):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id if isinstance(chat_id, int) else str(chat_id)

    def _new_message(
        self, chat_id: int | str, params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            **content,
        }
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        with self._lock:
            self._messages[(chat_id, message["message_id"])] = message
        return message

    async def _send_message(self, params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        content = _text_content(str(params.get("text", "")), params.get("parse_mode"), params.get("entities"))
        return self._new_message(chat_id, params, content)

    async def _edit_message_text(
        self, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        key = self._message_key(params, "Bad Request: message to edit not found")
        content = _text_content(str(params.get("text", "")), params.get("parse_mode"), params.get("entities"))
        return self._edit(key, params, content)

    async def _edit_reply_markup(
        self, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        key = self._message_key(params, "Bad Request: message to edit not found")
        return self._edit(key, params, {})

    def _message_key(self, params: dict[str, Any], missing: str) -> tuple[int | str, int]:
        key = (self._chat_id(params), int(params.get("message_id", 0)))
        with self._lock:
            if key not in self._messages:
                raise ApiError(400, missing)
        return key

    def _edit(
        self, key: tuple[int | str, int], params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        markup = params.get("reply_markup") if isinstance(params.get("reply_markup"), dict) else None
        with self._lock:
            current = self._messages[key]
            updated = {k: v for k, v in current.items() if k not in ("reply_markup", "edit_date")}
            if content:
                updated = {k: v for k, v in updated.items() if k not in ("text", "entities")} | content
            if markup:
                updated["reply_markup"] = markup
            if _same_content(current, updated):
                raise ApiError(400, NOT_MODIFIED)
            updated["edit_date"] = int(time.time())
            self._messages[key] = updated
        return updated

    async def _delete_message(self, params: dict[str, Any], uploads: dict[str, Upload]) -> bool:
        key = self._message_key(params, "Bad Request: message to delete not found")
        with self._lock:
            self._messages.pop(key, None)
        return True

    async def _send_document(self, params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        upload = self._upload(params, uploads, "document")
        document = self._store_file(upload.file_name, upload.data) | {
            "file_name": upload.file_name or "document",
            "mime_type": upload.content_type or "application/octet-stream",
        }
        return self._new_message(chat_id, params, {"document": document} | _caption_content(params))

    async def _send_photo(self, params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        upload = self._upload(params, uploads, "photo")
        width, height = _image_size(upload.data)
        size = self._store_file(upload.file_name, upload.data) | {"width": width, "height": height}
        return self._new_message(chat_id, params, {"photo": [size]} | _caption_content(params))

    def _upload(self, params: dict[str, Any], uploads: dict[str, Upload], name: str) -> Upload:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            found = uploads.get(value.removeprefix("attach://"))
        else:
            found = uploads.get(name)
        if found is not None:
            return found
        if isinstance(value, str) and value in self._files:
            path, data = self._files[value]
            return Upload(name, path.rsplit("/", 1)[-1], data, None)
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    async def _get_file(self, params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = stored
        return {
            "file_id": file_id,
            "file_unique_id": "AgAD" + file_id[-6:],
            "file_size": len(data),
            "file_path": path,
        }


def _default_description(fault: _Fault) -> str:
    return {
        400: "Bad Request",
        403: "Forbidden: bot was blocked by the user",
        429: f"Too Many Requests: retry after {fault.retry_after}",
        500: "Internal Server Error",
    }.get(fault.status, f"Error {fault.status}")


def _error_response(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.status)


def _text_content(text: str, parse_mode: Any, entities: Any) -> dict[str, Any]:
    plain, parsed = format_text(text, str(parse_mode) if parse_mode else None)
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(plain) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    content: dict[str, Any] = {"text": plain}
    given = entities if isinstance(entities, list) else parsed
    if given:
        content["entities"] = given
    return content


def _caption_content(params: dict[str, Any]) -> dict[str, Any]:
    caption = params.get("caption")
    if not caption:
        return {}
    plain, entities = format_text(str(caption), params.get("parse_mode"))
    if len(plain) > MAX_CAPTION:
        raise ApiError(400, "Bad Request: message caption is too long")
    return {"caption": plain} | ({"caption_entities": entities} if entities else {})


def _same_content(current: Mapping[str, Any], updated: Mapping[str, Any]) -> bool:
    keys = ("text", "entities", "caption", "reply_markup")
    return all(current.get(k) == updated.get(k) for k in keys)


def _image_size(data: bytes) -> tuple[int, int]:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 90, 90
