"""The DingTalk chat in Stream mode: an outbound WebSocket, so no public address or inbound rule is needed.

`dingtalk-stream` parses the frames, routes them to the handler and sends the acks; the connection loop is
ours, because the SDK's `start()` swallows cancellation (it catches CancelledError and sleeps), waits ten
seconds after every drop and cannot be given a proxy. Its `open_connection()` reads the gateway from the
import-time origin; ours asks the configured one.

A robot message is acked at once and answered in a task (the answer runs in a thread: charts and exports
take seconds). DingTalk pushes a robot callback once: a message sent while the bot is down may never
arrive (reminders do not depend on it). A message pushed again after a reconnect is answered once.

A file or a picture sent 1:1 (msgtype file / picture, with a downloadCode) is downloaded through the
robot file API, under the chat's cap, and handed to the chat core as Telegram's are; its answer (a
roster's receipt) goes back into the conversation like any reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote_plus

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bot.chat.peer import Peer
from bot.chat.reply import Reply
from bot.dingtalk import render, sdk
from bot.dingtalk.api import DingTalkApi
from bot.inbound import Answer, Choices, HandIn, Press, Seen, file_reply, stopped_within
from bot.platform_http import Download
from bot.sender.policy import DeliveryError

log = logging.getLogger(__name__)

TOPIC = "/v1.0/im/bot/messages/get"
FILE_TYPES = ("file", "picture")  # msgtypes that carry a downloadCode in their content
FIRST_RETRY_S = 1.0
LAST_RETRY_S = 60.0


class DingTalkChat:
    def __init__(
        self,
        api: DingTalkApi,
        answer: Answer,
        press: Press,
        hand_in: HandIn | None = None,
        *,
        proxy: str | None = None,
        first_retry_s: float = FIRST_RETRY_S,
    ) -> None:
        self.api = api
        self.answer_text, self.press_button = answer, press
        self.hand_in = hand_in  # files sent in chat: not read without it
        self.proxy = proxy
        self.first_retry_s = first_retry_s
        self.sdk = sdk.load(api.openapi)
        secret = api.config.client_secret.get_secret_value() if api.config.client_secret else ""
        self.client = self.sdk.DingTalkStreamClient(self.sdk.Credential(api.config.client_id, secret))
        self.client.register_callback_handler(TOPIC, _RobotHandler(self))
        self.seen = Seen()
        self.choices = Choices()
        self.connections = 0  # connections opened so far (a reconnect makes it 2)
        self.connected = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set, reconnecting with back-off; then finish the answers."""
        self.client.pre_start()
        delay = self.first_retry_s
        while not stop.is_set():
            try:
                await self._connection(stop)
                delay = self.first_retry_s
            except (DeliveryError, ConnectionClosed, InvalidHandshake, InvalidURI, OSError) as error:
                log.warning("DingTalk stream: %s: %s; again in %.0f s", type(error).__name__, error, delay)
            except Exception:  # whatever else breaks a connection must not end the chat
                log.exception("DingTalk stream failed; again in %.0f s", delay)
            self.connected.clear()
            if stop.is_set() or await stopped_within(stop, delay):
                break
            delay = min(delay * 2, LAST_RETRY_S)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10.0)

    async def _connection(self, stop: asyncio.Event) -> None:
        endpoint, ticket = await self.api.open_connection([{"type": "CALLBACK", "topic": TOPIC}])
        uri = f"{endpoint}?ticket={quote_plus(ticket)}"
        async with websockets.connect(uri, proxy=self.proxy or True) as websocket:
            self.client.websocket = websocket
            self.connections += 1
            self.connected.set()
            log.info("DingTalk stream connected (%d)", self.connections)
            reader = asyncio.create_task(self._read(websocket))
            halt = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({reader, halt}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                halt.cancel()
                if not reader.done():
                    reader.cancel()
                    await websocket.close()
            if reader.done() and not reader.cancelled() and reader.exception() is not None:
                raise reader.exception()  # type: ignore[misc]

    async def _read(self, websocket: Any) -> None:
        async for raw in websocket:
            # the SDK routes the frame to its handler and sends the ack on the current connection
            self._spawn(self.client.background_task(json.loads(raw)))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one robot message -------------------------------------------------------------------------

    def received(self, data: dict[str, Any]) -> None:
        message = self.sdk.ChatbotMessage.from_dict(data)
        if not message.message_id or not self.seen.first(message.message_id):
            return
        if message.conversation_type != "1":
            # in a group every member would read the answer: an officer's province, a unit's figures
            log.info("DingTalk: a group message, not answered (the robot answers 1:1 only)")
            return
        staff_id = message.sender_staff_id or message.sender_id
        if not staff_id:
            return
        peer = Peer("dingtalk", str(staff_id))
        if message.message_type in FILE_TYPES:
            content = data.get("content")
            content = content if isinstance(content, dict) else {}
            code, name = content.get("downloadCode"), content.get("fileName")
            named = name if isinstance(name, str) and name and message.message_type == "file" else None
            if isinstance(code, str) and code and self.hand_in is not None:
                self._spawn(self._receive_file(peer, code, named, message))
            return
        text = " ".join(part.strip() for part in (message.get_text_list() or []) if part).strip()
        if text:
            self._spawn(self._respond(peer, text, message))

    async def _respond(self, peer: Peer, text: str, message: Any) -> None:
        reply = await self.choices.reply("DingTalk", self.answer_text, self.press_button, peer, text)
        if reply is not None:
            await self.deliver(peer, reply, message.session_webhook)

    async def _receive_file(self, peer: Peer, code: str, name: str | None, message: Any) -> None:
        assert self.hand_in is not None

        async def fetch(limit: int) -> Download:
            return await self.api.download_file(code, limit)

        reply = await file_reply("DingTalk", self.hand_in, peer, name, fetch)
        if reply is not None:
            await self.deliver(peer, reply, message.session_webhook)

    async def deliver(self, peer: Peer, reply: Reply, session_webhook: str | None) -> None:
        """The reply's text through the sessionWebhook (checked, retried once), its file as a 1:1 message."""
        buttons = self.choices.offer(peer, reply)
        for body in render.webhook_bodies(reply, buttons):
            await self._reply(peer, session_webhook, body)
        if reply.attachment is not None:
            attachment = reply.attachment
            kind = "image" if attachment.kind == "photo" else "file"
            try:
                upload = await self.api.upload(attachment.data, attachment.filename, kind)
                key, param = render.attachment_message(kind, upload.media_id, attachment.filename)
                await self.api.send_to_users([peer.id], key, param)
            except DeliveryError as error:
                log.warning("DingTalk: %s to %s not sent: %s", attachment.filename, peer, error)

    async def _reply(self, peer: Peer, session_webhook: str | None, body: dict[str, Any]) -> None:
        for attempt in (1, 2):
            try:
                if session_webhook:
                    await self.api.reply(session_webhook, body)
                else:  # no conversation to answer into: a 1:1 robot message
                    await self.api.send_to_users([peer.id], "sampleMarkdown", body["markdown"])
                return
            except DeliveryError as error:
                log.warning("DingTalk: reply to %s failed (attempt %d): %s", peer, attempt, error)
        log.error("DingTalk: reply to %s lost after two attempts", peer)


class _RobotHandler:
    """The SDK's callback-handler interface (pre_start, raw_process); acks at once."""

    def __init__(self, chat: DingTalkChat) -> None:
        self.chat = chat
        self.dingtalk_client: Any = None  # set by the SDK on registration

    def pre_start(self) -> None:
        return

    async def raw_process(self, message: Any) -> Any:
        sdk_module = self.chat.sdk
        try:
            self.chat.received(message.data)
            code, answer = sdk_module.AckMessage.STATUS_OK, "OK"
        except Exception:
            log.exception("DingTalk: unreadable robot message")
            code, answer = sdk_module.AckMessage.STATUS_BAD_REQUEST, "unreadable"
        ack = sdk_module.AckMessage()
        ack.code = code
        ack.headers.message_id = message.headers.message_id
        ack.headers.content_type = sdk_module.frames.Headers.CONTENT_TYPE_APPLICATION_JSON
        ack.data = {"response": answer}
        return ack
