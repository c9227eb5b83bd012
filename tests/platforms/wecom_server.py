"""WeCom on loopback: its server API (gettoken, message/send, media/upload, media/get) as a server, and
its callbacks as a client that encrypts and signs them the way WeCom documents (加解密方案说明,
https://developer.work.weixin.qq.com/document/path/90968), written here from the documentation rather than
with wechatpy, so that a mistake on either side fails the tests:

- AESKey = Base64_Decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC, IV = the key's first 16 bytes;
- plaintext = 16 random bytes + the message's length (4 bytes, network order) + the message + CorpID,
  padded PKCS#7 to a multiple of 32 bytes; Encrypt = Base64 of the ciphertext;
- msg_signature = SHA-1 of the Token, timestamp, nonce and Encrypt, sorted and concatenated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import time

import aiohttp
from aiohttp import web
from Crypto.Cipher import AES

from tests.platforms.loopback import PlatformServer


class WeComServer(PlatformServer):
    NAME = "wecom-api"

    def __init__(self, corp_id: str = "ww0123456789abcdef", secret: str = "wecomsecret") -> None:
        super().__init__()
        self.corp_id, self.secret, self.agent_id = corp_id, secret, 1000002
        self.token = "callbacktoken"
        self.aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")  # 43 characters
        self.users = {"zhangsan", "lisi"}
        self.throttle_next = 0
        self._images: dict[str, bytes] = {}  # MediaId → the bytes of an image a member sent

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_get("/cgi-bin/media/get", self._media)

    # --- callbacks, as WeCom sends them ------------------------------------------------------------

    def encrypt(self, message: str) -> str:
        key = base64.b64decode(self.aes_key + "=")
        raw = message.encode()
        plain = os.urandom(16) + struct.pack(">I", len(raw)) + raw + self.corp_id.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(plain)).decode()

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    async def verify_url(self, url: str) -> tuple[int, str]:
        """The check WeCom makes when the callback URL is saved: the echostr must come back decrypted."""
        echo = secrets.token_hex(8)
        encrypted, timestamp, nonce = self.encrypt(echo), str(int(time.time())), secrets.token_hex(4)
        query = {
            "msg_signature": self.signature(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        async with aiohttp.ClientSession() as http, http.get(url, params=query) as response:
            text = await response.text()
            return response.status, "echoed" if text == echo else text

    async def post_text(
        self, url: str, user: str, text: str, msg_id: str | None = None, *, sign: bool = True
    ) -> int:
        """A member's text message to the app, as WeCom posts it; the HTTP status of the answer."""
        return await self._post(url, user, "text", f"<Content><![CDATA[{text}]]></Content>", msg_id, sign)

    async def post_image(self, url: str, user: str, data: bytes, *, expired: bool = False) -> int:
        """A member's image, as WeCom posts it (PicUrl, MediaId); an `expired` MediaId is one media/get no
        longer serves. The HTTP status of the answer."""
        media_id = f"1{secrets.token_hex(12)}"
        if not expired:
            with self.lock:
                self._images[media_id] = data
        fields = (
            f"<PicUrl><![CDATA[https://wework.qpic.cn/{media_id}]]></PicUrl>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId>"
        )
        return await self._post(url, user, "image", fields, None, True)

    async def _post(
        self, url: str, user: str, msg_type: str, fields: str, msg_id: str | None, sign: bool
    ) -> int:
        msg_id = msg_id or str(secrets.randbelow(10**18))
        inner = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{fields}<MsgId>{msg_id}</MsgId><AgentID>{self.agent_id}</AgentID></xml>"
        )
        encrypted, timestamp, nonce = self.encrypt(inner), str(int(time.time())), secrets.token_hex(4)
        outer = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>"
        )
        signature = self.signature(timestamp, nonce, encrypted) if sign else "0" * 40
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, params=query, data=outer.encode()) as response,
        ):
            await response.read()
            return response.status

    # --- the server API ----------------------------------------------------------------------------

    async def _gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        token = self._issue(secrets.token_hex(16))
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def _refusal(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not self._valid(token):
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        return None

    async def _send(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        body = json.loads(await request.read())
        assert body["agentid"] == self.agent_id and body["msgtype"] in body
        if body["touser"] not in self.users:
            return web.json_response(
                {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": body["touser"]}
            )
        self._took("message", body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    async def _upload(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        form = await request.post()
        media = form["media"]
        assert isinstance(media, web.FileField)
        media_id = f"3{secrets.token_hex(8)}"
        self._took(
            "upload", {"type": request.query["type"], "filename": media.filename, "media_id": media_id}
        )
        return web.json_response(
            {"errcode": 0, "errmsg": "", "type": request.query["type"], "media_id": media_id}
        )

    async def _media(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        with self.lock:
            data = self._images.get(request.query.get("media_id", ""))
        if data is None:  # WeCom answers an error with status 200 and JSON
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=data, content_type="image/jpeg")
