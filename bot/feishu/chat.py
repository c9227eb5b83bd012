"""The Feishu chat over the long connection (`lark.ws.Client`): an outbound WebSocket, no public address.

What the SDK does, and what is done about it here:
- It runs on the loop it took at import (bot/feishu/sdk.py) with `start()`, which never returns: it runs
  in a thread of its own, and is stopped by stopping that loop.
- It calls the event handler synchronously and acks when it returns; an event not acked within 3 s is
  pushed again. The handler only de-duplicates by `header.event_id` and hands the event to the service's
  loop, where the answer runs in a thread: a slow chart or export never holds the ack.
- When a reconnect meets an endpoint answer it does not expect, its reconnect task dies and the process
  stays up with no connection. A health check looks every few seconds; a connection down longer than
  [feishu] restart_after_s is started afresh with a new client.
- It connects without a proxy (it passes proxy=None to websockets); the endpoint request and our OpenAPI
  calls honour the proxy.

A file or an image sent p2p (message_type file / image) is downloaded as the message's resource, under the
chat's cap, and handed to the chat core as Telegram's are; its answer (a roster's receipt) is sent back.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from bot.chat.peer import Peer
from bot.chat.reply import Reply
from bot.feishu import render, sdk
from bot.feishu.api import FeishuApi
from bot.inbound import Answer, HandIn, Press, Seen, file_reply, reply_from, stopped_within
from bot.platform_http import Download
from bot.sender.policy import DeliveryError

log = logging.getLogger(__name__)
RESOURCES = {"file": "file_key", "image": "image_key"}  # message types that carry a file, and its key


class FeishuChat:
    def __init__(
        self,
        api: FeishuApi,
        answer: Answer,
        press: Press,
        hand_in: HandIn | None = None,
        *,
        check_s: float | None = None,
    ) -> None:
        self.api = api
        self.answer_text, self.press_button = answer, press
        self.hand_in = hand_in  # files sent in chat: not read without it
        self.restart_after_s = api.config.restart_after_s
        self.check_s = check_s if check_s is not None else min(10.0, self.restart_after_s / 3)
        self.lark = sdk.load()
        self.seen = Seen()
        self.starts = 0  # clients started (a restart makes it 2)
        self._client: Any = None
        self._in_start = False  # the SDK thread is inside client.start()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._answers: set[Future[None]] = set()
        self._answers_lock = threading.Lock()

    # --- the service's side ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        thread = threading.Thread(target=self._sdk_thread, name="feishu-ws", daemon=True)
        thread.start()
        down_since: float | None = None
        try:
            while not stop.is_set():
                if self.connected:
                    down_since = None
                elif down_since is None:
                    down_since = time.monotonic()
                elif time.monotonic() - down_since > self.restart_after_s:
                    log.warning(
                        "Feishu long connection down for %.0f s: starting it afresh", self.restart_after_s
                    )
                    down_since = None
                    self._stop_sdk_loop()
                await stopped_within(stop, self.check_s)
        finally:
            self._stopping.set()
            await asyncio.to_thread(self._join, thread)
            with self._answers_lock:
                pending = [asyncio.wrap_future(f) for f in self._answers]
            if pending:
                await asyncio.wait(pending, timeout=10.0)

    @property
    def connected(self) -> bool:
        # the SDK keeps its connection in _conn (None while disconnected); read, never written
        return self._client is not None and getattr(self._client, "_conn", None) is not None

    # --- the SDK's thread --------------------------------------------------------------------------

    def _sdk_thread(self) -> None:
        lark = self.lark
        loop = lark.ws.client.loop
        # the client's cache takes the thread's current loop for its clean-up task: make it the SDK's
        asyncio.set_event_loop(loop)
        handler = (
            lark.EventDispatcherHandler.builder("", "")
            .register_p2_im_message_receive_v1(self._message)
            .register_p2_card_action_trigger(self._card)
            .build()
        )
        secret = self.api.config.app_secret.get_secret_value() if self.api.config.app_secret else ""
        while not self._stopping.is_set():
            client = lark.ws.Client(
                self.api.config.app_id,
                secret,
                event_handler=handler,
                domain=self.api.domain,
                log_level=lark.LogLevel.INFO,
            )
            self._client = client
            self.starts += 1
            self._in_start = True
            try:
                client.start()
            except RuntimeError:  # the loop was stopped: a restart, or the service stopping
                pass
            except Exception as error:  # refused credentials, an endpoint that gave up
                log.warning("Feishu long connection ended: %s: %s", type(error).__name__, error)
                self._stopping.wait(min(self.restart_after_s, 30.0))
            self._in_start = False
            self._client = None
            _close(loop, client)

    def _join(self, thread: threading.Thread, timeout_s: float = 10.0) -> None:
        # a stop that lands while start() is connecting is swallowed by the SDK (it catches the
        # RuntimeError and goes on reconnecting): stop again until the thread is gone
        deadline = time.monotonic() + timeout_s
        while thread.is_alive() and time.monotonic() < deadline:
            self._stop_sdk_loop()
            thread.join(0.2)

    def _stop_sdk_loop(self) -> None:
        loop = self.lark.ws.client.loop
        # only a client's start() is stopped: a stop asked of a loop that is not running would cut short
        # the next client's first connect, and one during the clean-up would leave the old tasks pending
        if self._in_start and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)

    # --- events (on the SDK's loop: return at once) ------------------------------------------------

    def _message(self, data: Any) -> None:
        if not self.seen.first(str(data.header.event_id)):
            return
        message, sender = data.event.message, data.event.sender
        if sender.sender_id is None or message.chat_type != "p2p":
            return  # in a group every member would read the answer
        peer = Peer("feishu", sender.sender_id.open_id)
        content = json.loads(message.content or "{}")
        if message.message_type in RESOURCES and self.hand_in is not None:
            key = content.get(RESOURCES[message.message_type])
            name = content.get("file_name")
            if isinstance(key, str) and key and message.message_id:
                named = name if isinstance(name, str) and name else None
                self._hand_off(self._receive_file(peer, message.message_id, key, message.message_type, named))
            return
        if message.message_type != "text":
            return
        text = str(content.get("text", "")).strip()
        if text:
            self._hand_off(self._respond(peer, text, press=False))

    def _card(self, data: Any) -> Any:
        model = importlib.import_module("lark_oapi.event.callback.model.p2_card_action_trigger")
        response = model.P2CardActionTriggerResponse({})  # no toast: the answer follows as a message
        if not self.seen.first(str(data.header.event_id)):
            return response
        value = data.event.action.value or {}
        if isinstance(value, dict) and isinstance(value.get("data"), str):
            self._hand_off(
                self._respond(Peer("feishu", data.event.operator.open_id), value["data"], press=True)
            )
        return response

    def _hand_off(self, work: Any) -> None:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        with self._answers_lock:
            self._answers.add(future)
        future.add_done_callback(self._answered)

    def _answered(self, future: Future[None]) -> None:
        with self._answers_lock:
            self._answers.discard(future)

    # --- answering (on the service's loop) ---------------------------------------------------------

    async def _respond(self, peer: Peer, text: str, *, press: bool) -> None:
        reply = await reply_from("Feishu", self.press_button if press else self.answer_text, peer, text)
        if reply is not None:
            await self.deliver(peer, reply)

    async def _receive_file(self, peer: Peer, message_id: str, key: str, kind: str, name: str | None) -> None:
        assert self.hand_in is not None

        async def fetch(limit: int) -> Download:
            return await self.api.download_resource(message_id, key, kind, limit)

        reply = await file_reply("Feishu", self.hand_in, peer, name, fetch)
        if reply is not None:
            await self.deliver(peer, reply)

    async def deliver(self, peer: Peer, reply: Reply) -> None:
        for msg_type, content in render.messages(reply):
            await self._send(peer, msg_type, content)
        attachment = reply.attachment
        if attachment is None:
            return
        try:
            if attachment.kind == "photo":
                key = await self.api.upload_image(attachment.data, attachment.filename)
                await self._send(peer, "image", {"image_key": key})
            else:
                key = await self.api.upload_file(attachment.data, attachment.filename)
                await self._send(peer, "file", {"file_key": key})
        except DeliveryError as error:
            log.warning("Feishu: %s to %s not sent: %s", attachment.filename, peer, error)

    async def _send(self, peer: Peer, msg_type: str, content: dict[str, Any]) -> None:
        for attempt in (1, 2):
            try:
                await self.api.send(peer.id, msg_type, content)
                return
            except DeliveryError as error:
                log.warning("Feishu: reply to %s failed (attempt %d): %s", peer, attempt, error)
        log.error("Feishu: reply to %s lost after two attempts", peer)


def _close(loop: asyncio.AbstractEventLoop, client: Any) -> None:
    """After the SDK's loop stopped: its tasks cancelled and its connection closed, so that a restarted
    client is the only one the platform pushes events to."""
    connection = getattr(client, "_conn", None)

    async def finish() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), 5.0)
            except Exception as error:
                log.debug("Feishu: closing the old connection: %s", error)

    try:
        loop.run_until_complete(finish())
    except RuntimeError as error:  # stopped again while finishing: the next run finishes it
        log.debug("Feishu: cleanup interrupted: %s", error)
