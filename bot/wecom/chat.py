"""The WeCom chat in callback mode: WeCom posts each message, encrypted, to an HTTP endpoint of ours.

Unlike DingTalk and Feishu this needs an address WeCom can reach (a reverse proxy in front of
[wecom] listen:port, with a domain verified for the app). The crypto is wechatpy's (the message
encryption WeCom documents: AES-256-CBC with the EncodingAESKey, a SHA-1 signature over the Token).

WeCom waits 5 s for the answer to a callback and posts it again up to three times: the endpoint answers
at once (an empty body: no passive reply), de-duplicates by MsgId, and the answer goes out as an app
message, made in a thread. Buttons are numbered text choices (text messages reach members who use WeChat
too, where WeCom's cards do not).

An image a member sends (MsgType image) is downloaded by its MediaId under the chat's cap and handed to the
chat core, as Telegram's photos are (an emitter's stamped screenshot). WeCom's app callbacks carry no other
files (text, image, voice, video, location, link): a roster cannot be handed in here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.chat.peer import Peer
from bot.chat.reply import Button, Reply, plain_text, split_text
from bot.inbound import Answer, Choices, HandIn, Press, Seen, file_reply
from bot.platform_http import Download
from bot.sender.policy import DeliveryError
from bot.wecom.api import WeComApi

log = logging.getLogger(__name__)

MAX_TEXT = 600  # characters: a text message holds 2,048 bytes, and Chinese takes three a character


def text_messages(reply: Reply, buttons: list[Button]) -> list[str]:
    text = plain_text(reply.text)
    if buttons:
        text += "\n\n" + "\n".join(f"{n}. {b.label}" for n, b in enumerate(buttons, 1))
    return split_text(text, MAX_TEXT)


class WeComChat:
    def __init__(self, api: WeComApi, answer: Answer, press: Press, hand_in: HandIn | None = None) -> None:
        config = api.config
        if config.token is None or config.encoding_aes_key is None:
            raise ValueError(
                "no WeCom callback Token or EncodingAESKey (CCERBOT_WECOM_TOKEN, CCERBOT_WECOM_AES_KEY)"
            )
        self.api = api
        self.answer_text, self.press_button = answer, press
        self.hand_in = hand_in  # images sent in chat: not read without it
        self.crypto = WeChatCrypto(
            config.token.get_secret_value(), config.encoding_aes_key.get_secret_value(), config.corp_id
        )
        self.seen = Seen()
        self.choices = Choices()
        self.ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get(self.api.config.path, self._verify)
        app.router.add_post(self.api.config.path, self._callback)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        runner = web.AppRunner(self.application(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.api.config.listen, self.api.config.port).start()
        self.ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10.0)

    # --- the callback endpoint ---------------------------------------------------------------------

    async def _verify(self, request: web.Request) -> web.Response:
        """The URL check WeCom makes when the callback is saved: echo the decrypted echostr."""
        query = request.query
        try:
            echo = self.crypto.check_signature(
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
                query.get("echostr", ""),
            )
        except (InvalidSignatureException, ValueError):
            return web.Response(status=403, text="bad signature")
        return web.Response(text=echo if isinstance(echo, str) else echo.decode())

    async def _callback(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            xml = self.crypto.decrypt_message(
                await request.read(),
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            )
        except (InvalidSignatureException, ValueError, KeyError):
            return web.Response(status=403, text="bad signature")
        message = parse_message(xml)
        kind = getattr(message, "type", "")
        if kind == "text" and self.seen.first(str(message.id)):
            peer = Peer("wecom", str(message.source))
            self._spawn(self._respond(peer, str(message.content).strip()))
        elif (
            kind == "image"
            and self.hand_in is not None
            and message.media_id
            and self.seen.first(str(message.id))
        ):
            self._spawn(self._receive_image(Peer("wecom", str(message.source)), str(message.media_id)))
        return web.Response(text="")

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- answering ---------------------------------------------------------------------------------

    async def _respond(self, peer: Peer, text: str) -> None:
        reply = await self.choices.reply("WeCom", self.answer_text, self.press_button, peer, text)
        if reply is not None:
            await self.deliver(peer, reply)

    async def _receive_image(self, peer: Peer, media_id: str) -> None:
        assert self.hand_in is not None

        async def fetch(limit: int) -> Download:
            return await self.api.download_media(media_id, limit)

        reply = await file_reply("WeCom", self.hand_in, peer, None, fetch)
        if reply is not None:
            await self.deliver(peer, reply)

    async def deliver(self, peer: Peer, reply: Reply) -> None:
        for text in text_messages(reply, self.choices.offer(peer, reply)):
            await self._send(peer, "text", {"content": text})
        if reply.attachment is not None:
            kind = "image" if reply.attachment.kind == "photo" else "file"
            try:
                media = await self.api.upload(reply.attachment.data, reply.attachment.filename, kind)
            except DeliveryError as error:
                log.warning("WeCom: %s to %s not uploaded: %s", reply.attachment.filename, peer, error)
                return
            await self._send(peer, kind, {"media_id": media})

    async def _send(self, peer: Peer, msgtype: str, content: dict[str, Any]) -> None:
        for attempt in (1, 2):
            try:
                await self.api.send(peer.id, msgtype, content)
                return
            except DeliveryError as error:
                log.warning("WeCom: reply to %s failed (attempt %d): %s", peer, attempt, error)
        log.error("WeCom: reply to %s lost after two attempts", peer)
