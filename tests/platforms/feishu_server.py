"""A Feishu open platform on loopback, speaking what `lark-oapi`'s long connection and ccerbot speak.

- POST /callback/ws/endpoint {AppID, AppSecret} → {code, data: {URL, ClientConfig}}; the client config
  makes the SDK reconnect at once and every second (ReconnectNonce 0, ReconnectInterval 1).
- GET /ws?device_id=…&service_id=… : the WebSocket of protobuf frames (the SDK's own pbbp2 Frame): DATA
  frames with headers type=event, message_id, trace_id, sum, seq and the event JSON as payload; the
  client acks with the same frame carrying {"code": 200} as payload; its pings get pongs.
- POST /open-apis/auth/v3/tenant_access_token/internal → {code, tenant_access_token, expire}
- POST /open-apis/im/v1/messages?receive_id_type=open_id; /open-apis/im/v1/images; /open-apis/im/v1/files
- GET /open-apis/im/v1/messages/<message_id>/resources/<key>?type=file|image: the bytes of a file or image
  a user sent (`send_file`), with its Content-Length; a key the message does not carry is code 234003
Everything sent is recorded (`delivered()`: each message with the user it went to and the file it carries).
Faults: tokens revoked (99991663), a throttle answer (429 / 99991400), an endpoint answer the SDK does not
expect (its reconnect task dies), the connection dropped, an event pushed again.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from bot.feishu import sdk
from tests.platforms.loopback import HOST, PlatformServer

INVALID_TOKEN = {
    "code": 99991663,
    "msg": "Invalid access token for authorization. Please make a request with token attached.",
}
THROTTLED = {"code": 99991400, "msg": "request trigger frequency limit"}
UNEXPECTED = {"code": 1000040351, "msg": "system busy, unexpected"}


def _frame_class() -> Any:
    sdk.load()  # the SDK takes its loop when first imported: never on this server's loop
    from lark_oapi.ws.pb.pbbp2_pb2 import Frame

    return Frame


@dataclass(frozen=True)
class Delivered:
    """A message as one user got it, with the upload it names."""

    to: str  # the receive_id (an open_id)
    msg_type: str  # text | interactive | image | file
    content: dict[str, Any]
    file: tuple[str, bytes] | None = None  # (name, content)


class FeishuPlatform(PlatformServer):
    NAME = "feishu-platform"

    def __init__(self, app_id: str = "cli_ccerbot", app_secret: str = "feishusecret") -> None:
        super().__init__()
        self.Frame = _frame_class()
        self.app_id, self.app_secret = app_id, app_secret
        self.users = {"ou_emitter", "ou_officer"}
        self.throttle_next = 0
        self.endpoint_failures = 0  # endpoint answers so many times with a code the SDK gives up on
        self.endpoints = 0  # endpoint requests answered with a URL
        self.acks: list[str] = []  # event ids acked
        self._seq = 0
        self._media: dict[str, tuple[str, bytes]] = {}  # image_key / file_key → (name, content)
        self._sent_files: dict[tuple[str, str], tuple[str, bytes]] = {}  # (message_id, key) → (type, bytes)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._ws)
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/open-apis/im/v1/messages", self._message)
        app.router.add_post("/open-apis/im/v1/images", self._image)
        app.router.add_post("/open-apis/im/v1/files", self._file)
        app.router.add_get("/open-apis/im/v1/messages/{message_id}/resources/{key}", self._resource)

    # --- what the tests do -------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        return len(self._sockets)

    def say(self, open_id: str, text: str, event_id: str | None = None, *, chat_type: str = "p2p") -> str:
        """A user's p2p text message, as an im.message.receive_v1 event; its event id."""
        return self._say(open_id, "text", {"text": text}, event_id, chat_type)

    def send_file(
        self, open_id: str, data: bytes, filename: str | None = None, *, expired: bool = False
    ) -> str:
        """A user's p2p file (an image when `filename` is None); an `expired` one the resource API no
        longer serves. Its event id."""
        kind = "image" if filename is None else "file"
        key = f"{'img' if filename is None else 'file'}_v3_{secrets.token_hex(6)}"
        message_id = f"om_{secrets.token_hex(6)}"
        if not expired:
            with self.lock:
                self._sent_files[(message_id, key)] = (kind, data)
        content = {"image_key": key} if filename is None else {"file_key": key, "file_name": filename}
        return self._say(open_id, kind, content, None, "p2p", message_id)

    def _say(
        self,
        open_id: str,
        message_type: str,
        content: dict[str, Any],
        event_id: str | None,
        chat_type: str,
        message_id: str | None = None,
    ) -> str:
        event_id = event_id or f"ev{secrets.token_hex(6)}"
        event = {
            "schema": "2.0",
            "header": self._header(event_id, "im.message.receive_v1"),
            "event": {
                "sender": {
                    "sender_id": {"open_id": open_id, "union_id": f"on_{open_id}", "user_id": open_id},
                    "sender_type": "user",
                    "tenant_key": "tenant",
                },
                "message": {
                    "message_id": message_id or f"om_{secrets.token_hex(6)}",
                    "create_time": str(int(time.time() * 1000)),
                    "chat_id": f"oc_{open_id}",
                    "chat_type": chat_type,
                    "message_type": message_type,
                    "content": json.dumps(content, ensure_ascii=False),
                },
            },
        }
        self.call(self._push(event))
        return event_id

    def click(self, open_id: str, data: str, event_id: str | None = None) -> str:
        """A card button pressed, as a card.action.trigger callback."""
        event_id = event_id or f"ev{secrets.token_hex(6)}"
        event = {
            "schema": "2.0",
            "header": self._header(event_id, "card.action.trigger"),
            "event": {
                "operator": {"open_id": open_id, "tenant_key": "tenant"},
                "token": "c-token",
                "action": {"value": {"data": data}, "tag": "button"},
                "host": "im_message",
                "context": {"open_message_id": "om_card", "open_chat_id": f"oc_{open_id}"},
            },
        }
        self.call(self._push(event))
        return event_id

    def drop(self) -> None:
        self.call(self._drop())

    def delivered(self) -> list[Delivered]:
        """Every message sent, in the order the server took them, with the user it went to."""
        found = []
        with self.lock:
            for sent in (s for s in self.sent if s.kind == "message"):
                content = sent.body["content"]
                key = content.get("image_key") or content.get("file_key") or ""
                found.append(
                    Delivered(sent.body["receive_id"], sent.body["msg_type"], content, self._media.get(key))
                )
        return found

    # --- the long connection -----------------------------------------------------------------------

    def _header(self, event_id: str, event_type: str) -> dict[str, str]:
        return {
            "event_id": event_id,
            "event_type": event_type,
            "create_time": str(int(time.time() * 1000)),
            "token": "",
            "app_id": self.app_id,
            "tenant_key": "tenant",
        }

    async def _endpoint(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("AppID") != self.app_id or body.get("AppSecret") != self.app_secret:
            return web.json_response({"code": 1000040343, "msg": "invalid app"})
        if self.endpoint_failures > 0:
            self.endpoint_failures -= 1
            return web.json_response(UNEXPECTED)
        self.endpoints += 1
        url = f"ws://{HOST}:{self.port}/ws?device_id=d{self.endpoints}&service_id=7"
        config = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120}
        return web.json_response({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": config}})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        async for message in ws:
            if message.type != WSMsgType.BINARY:
                continue
            frame = self.Frame()
            frame.ParseFromString(message.data)
            headers = {h.key: h.value for h in frame.headers}
            if frame.method == 0 and headers.get("type") == "ping":
                await ws.send_bytes(self._control("pong"))
            elif frame.method == 1 and json.loads(frame.payload or b"{}").get("code") == 200:
                self.acks.append(headers["message_id"])
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    def _control(self, kind: str) -> bytes:
        frame = self.Frame()
        frame.SeqID, frame.LogID, frame.service, frame.method = 0, 0, 7, 0
        header = frame.headers.add()
        header.key, header.value = "type", kind
        return bytes(frame.SerializeToString())

    async def _push(self, event: dict[str, Any]) -> None:
        self._seq += 1
        frame = self.Frame()
        frame.SeqID, frame.LogID, frame.service, frame.method = self._seq, self._seq, 7, 1
        for key, value in (
            ("type", "event"),
            ("message_id", event["header"]["event_id"]),
            ("trace_id", secrets.token_hex(4)),
            ("sum", "1"),
            ("seq", "0"),
        ):
            header = frame.headers.add()
            header.key, header.value = key, value
        frame.payload = json.dumps(event, ensure_ascii=False).encode()
        await self._sockets[-1].send_bytes(frame.SerializeToString())

    # --- the OpenAPI -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
            return web.json_response({"code": 10014, "msg": "app secret invalid"}, status=400)
        token = self._issue(f"t-{secrets.token_hex(12)}")
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200})

    def _refusal(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not self._valid(token):
            return web.json_response(INVALID_TOKEN, status=400)
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return web.json_response(THROTTLED, status=429, headers={"x-ogw-ratelimit-reset": "1"})
        return None

    async def _message(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        assert request.query.get("receive_id_type") == "open_id"
        body = await request.json()
        if body["receive_id"] not in self.users:
            return web.json_response(
                {"code": 230013, "msg": "Bot has NO availability to this user."}, status=400
            )
        body["content"] = json.loads(body["content"])
        self._took("message", body)
        return web.json_response(
            {"code": 0, "msg": "success", "data": {"message_id": f"om_{secrets.token_hex(6)}"}}
        )

    async def _image(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        form = await request.post()
        image = form["image"]
        assert form["image_type"] == "message" and isinstance(image, web.FileField)
        key = f"img_{secrets.token_hex(6)}"
        with self.lock:
            self._media[key] = (str(image.filename), image.file.read())
        self._took("image", {"filename": image.filename, "image_key": key})
        return web.json_response({"code": 0, "msg": "success", "data": {"image_key": key}})

    async def _file(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        key = f"file_{secrets.token_hex(6)}"
        with self.lock:
            self._media[key] = (str(form["file_name"]), upload.file.read())
        self._took("file", {"file_type": form["file_type"], "file_name": form["file_name"], "file_key": key})
        return web.json_response({"code": 0, "msg": "success", "data": {"file_key": key}})

    async def _resource(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        with self.lock:
            found = self._sent_files.get((request.match_info["message_id"], request.match_info["key"]))
        if found is None or found[0] != request.query.get("type"):
            return web.json_response({"code": 234003, "msg": "File not in msg."}, status=400)
        return web.Response(body=found[1], content_type="application/octet-stream")
