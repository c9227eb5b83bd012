"""A DingTalk OpenAPI and Stream gateway on loopback, speaking what `dingtalk-stream` and ccerbot speak.

- POST /v1.0/gateway/connections/open {clientId, clientSecret, subscriptions} → {endpoint, ticket}
- GET /connect?ticket=… : the WebSocket. The server pushes CALLBACK frames (headers: appId, connectionId,
  contentType, messageId, time, topic; data: the robot message as a JSON string) and reads the client's
  acks ({code, headers: {messageId, contentType}, message, data}). A message not acked when its
  connection drops is pushed again on the next one (`redeliver`), as the gateway does for unacked frames.
- POST /v1.0/oauth2/accessToken {appKey, appSecret} → {accessToken, expireIn}
- POST /v1.0/robot/oToMessages/batchSend (x-acs-dingtalk-access-token) → {processQueryKey, …}
- POST /robot/sendBySession?session=… : a message's sessionWebhook → {errcode, errmsg}
- POST /media/upload?access_token=…&type=… (multipart "media") → {errcode, media_id}
- POST /v1.0/robot/messageFiles/download {downloadCode, robotCode} → {downloadUrl}; GET /files/<id> the
  bytes of a file or picture a user sent (`push_file`), with its Content-Length, as a download link does
Everything received is recorded for the tests (`delivered()`: each message with the user it went to and
the file it carries); faults are switched on by methods.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tests.platforms.loopback import HOST, PlatformServer

TOPIC = "/v1.0/im/bot/messages/get"
THROTTLED = {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps limit"}


@dataclass(frozen=True)
class Delivered:
    """A message as one user got it: a sessionWebhook reply or a 1:1 robot message, with its file."""

    to: str  # the staffId
    kind: str  # webhook | batch
    body: dict[str, Any]
    file: tuple[str, bytes] | None = None  # (name, content) of the upload a robot message names


class DingTalkGateway(PlatformServer):
    NAME = "dingtalk-gateway"

    def __init__(self, client_id: str = "dingclient", client_secret: str = "dingsecret") -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime_s = 7200
        self.opened = 0  # connections/open calls
        self.acks: list[str] = []  # message ids acked
        self.users = {"staff001", "staff002", "officer01"}
        self.throttle_next = 0  # batchSend answers so many times with a throttle error
        self.webhook_failures = 0  # sessionWebhook answers so many times with errcode -1
        self.redeliver = True
        self.lose_acks = False  # acks are lost on the way: every message is pushed again after a drop
        self.pushed = 0
        self._unacked: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, str] = {}  # sessionWebhook → the staffId whose message opened it
        self._media: dict[str, tuple[str, bytes]] = {}
        self._files: dict[str, bytes] = {}  # downloadCode → the bytes a user sent
        self._links: dict[str, bytes] = {}  # download link id → the bytes
        self.downloads = 0  # files served through a download link
        self._connected = asyncio.Condition()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch)
        app.router.add_post("/robot/sendBySession", self._session)
        app.router.add_post("/media/upload", self._upload)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._file_link)
        app.router.add_get("/files/{link}", self._file)

    # --- what the tests do -------------------------------------------------------------------------

    def push(self, staff_id: str, text: str, message_id: str | None = None, *, group: bool = False) -> str:
        """A user's 1:1 message to the robot (or in a group), pushed on the open connection; its id."""
        return self.call(self._push(staff_id, text, message_id or f"msg{secrets.token_hex(6)}", group))

    def push_file(
        self, staff_id: str, data: bytes, filename: str | None = None, *, expired: bool = False
    ) -> str:
        """A user's 1:1 file (a picture when `filename` is None), pushed as msgtype file / picture with a
        downloadCode; an `expired` code is one the download API no longer knows. Its message id."""
        code = f"dc{secrets.token_hex(8)}"
        if not expired:
            with self.lock:
                self._files[code] = data
        if filename is None:
            extra: dict[str, Any] = {"msgtype": "picture", "content": {"downloadCode": code}}
        else:
            extra = {"msgtype": "file", "content": {"downloadCode": code, "fileName": filename}}
        message_id = f"msg{secrets.token_hex(6)}"
        return self.call(self._push(staff_id, "", message_id, extra=extra))

    def drop(self) -> None:
        """The connection breaks (no close frame)."""
        self.call(self._drop())

    def wait_connections(self, count: int, timeout: float = 20.0) -> None:
        self.call(self._wait_connections(count), timeout)

    def delivered(self) -> list[Delivered]:
        """Every message the users got, in the order the server took them: a reply goes to the user whose
        message opened its sessionWebhook, a robot message to each of its userIds."""
        found = []
        with self.lock:
            for sent in self.sent:
                if sent.kind == "webhook":
                    found.append(Delivered(sent.body["to"], "webhook", sent.body))
                elif sent.kind == "batch":
                    param = sent.body["msgParam"]
                    file = self._media.get(param.get("mediaId") or param.get("photoURL") or "")
                    found += [Delivered(user, "batch", sent.body, file) for user in sent.body["userIds"]]
        return found

    # --- the stream --------------------------------------------------------------------------------

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "InvalidAuthentication", "message": "bad client"}, status=401)
        assert {"type": "CALLBACK", "topic": TOPIC} in body.get("subscriptions", [])
        self.opened += 1
        ticket = secrets.token_urlsafe(12)
        return web.json_response({"endpoint": f"ws://{HOST}:{self.port}/connect", "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        assert request.query.get("ticket")
        self._sockets.append(ws)
        async with self._connected:
            self._connected.notify_all()
        if self.redeliver:
            for frame in list(self._unacked.values()):
                self.pushed += 1
                await ws.send_str(json.dumps(frame))
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                message_id = ack.get("headers", {}).get("messageId")
                if ack.get("code") == 200 and message_id and not self.lose_acks:
                    self.acks.append(message_id)
                    self._unacked.pop(message_id, None)
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    async def _wait_connections(self, count: int) -> None:
        async with self._connected:
            await self._connected.wait_for(lambda: len(self._sockets) >= 1 and self.opened >= count)

    async def _push(
        self,
        staff_id: str,
        text: str,
        message_id: str,
        group: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> str:
        session = secrets.token_hex(8)
        self._sessions[session] = staff_id
        data = {
            "conversationId": f"cid{staff_id}",
            "chatbotCorpId": "dingcorp",
            "chatbotUserId": "$:LWCP_v1:$bot",
            "msgId": message_id,
            "senderNick": staff_id,
            "isAdmin": False,
            "senderStaffId": staff_id,
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 5_400_000,
            "createAt": int(time.time() * 1000),
            "senderCorpId": "dingcorp",
            "conversationType": "2" if group else "1",
            "senderId": f"$:LWCP_v1:${staff_id}",
            "sessionWebhook": f"http://{HOST}:{self.port}/robot/sendBySession?session={session}",
            "text": {"content": f" {text}"},
            "robotCode": self.client_id,
            "msgtype": "text",
        }
        if extra is not None:  # a file or a picture in place of the text
            del data["text"]
            data.update(extra)
        frame = {
            "specVersion": "1.0",
            "type": "CALLBACK",
            "headers": {
                "appId": "app",
                "connectionId": "conn",
                "contentType": "application/json",
                "messageId": f"frame-{message_id}",
                "time": str(int(time.time() * 1000)),
                "topic": TOPIC,
            },
            "data": json.dumps(data),
        }
        self._unacked[f"frame-{message_id}"] = frame
        self.pushed += 1
        await self._sockets[-1].send_str(json.dumps(frame))
        return message_id

    # --- the OpenAPI -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientSecret", "message": "bad secret"}, status=400)
        token = self._issue(secrets.token_hex(16))
        return web.json_response({"accessToken": token, "expireIn": self.token_lifetime_s})

    async def _batch(self, request: web.Request) -> web.Response:
        if not self._valid(request.headers.get("x-acs-dingtalk-access-token")):
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "不合法的access_token"}, status=401
            )
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return web.json_response(THROTTLED, status=403)
        body = await request.json()
        assert body["robotCode"] == self.client_id and len(body["userIds"]) <= 20
        body["msgParam"] = json.loads(body["msgParam"])
        unknown = [u for u in body["userIds"] if u not in self.users]
        if not unknown:
            self._took("batch", body)
        return web.json_response(
            {
                "processQueryKey": secrets.token_hex(8),
                "invalidStaffIdList": unknown,
                "flowControlledStaffIdList": [],
            }
        )

    async def _session(self, request: web.Request) -> web.Response:
        session = request.query.get("session", "")
        if session not in self._sessions:
            return web.json_response({"errcode": 300001, "errmsg": "session not exist"})
        if self.webhook_failures > 0:
            self.webhook_failures -= 1
            return web.json_response({"errcode": -1, "errmsg": "系统繁忙"})
        body = await request.json()
        self._took("webhook", {"to": self._sessions[session], **body})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _upload(self, request: web.Request) -> web.Response:
        if not self._valid(request.query.get("access_token")):
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        form = await request.post()
        media = form["media"]
        assert isinstance(media, web.FileField)
        data = media.file.read()
        media_id = f"@media{secrets.token_hex(6)}"
        with self.lock:
            self._media[media_id] = (str(media.filename), data)
        self._took(
            "upload",
            {
                "type": request.query["type"],
                "filename": media.filename,
                "size": len(data),
                "media_id": media_id,
            },
        )
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "media_id": media_id, "type": request.query["type"]}
        )

    async def _file_link(self, request: web.Request) -> web.Response:
        if not self._valid(request.headers.get("x-acs-dingtalk-access-token")):
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "不合法的access_token"}, status=401
            )
        body = await request.json()
        assert body["robotCode"] == self.client_id
        with self.lock:
            data = self._files.get(body.get("downloadCode", ""))
        if data is None:
            return web.json_response(
                {"code": "invalidParameter.downloadCode", "message": "downloadCode 无效或已过期"}, status=400
            )
        link = secrets.token_hex(8)
        with self.lock:
            self._links[link] = data
        return web.json_response({"downloadUrl": f"http://{HOST}:{self.port}/files/{link}"})

    async def _file(self, request: web.Request) -> web.Response:
        with self.lock:
            data = self._links.get(request.match_info["link"])
        if data is None:
            return web.Response(status=404, text="expired")
        with self.lock:
            self.downloads += 1
        return web.Response(body=data, content_type="application/octet-stream")
