"""Feishu's OpenAPI as ccerbot uses it, with aiohttp through the configured proxy.

- Tenant token: POST {domain}/open-apis/auth/v3/tenant_access_token/internal {app_id, app_secret} →
  {code, tenant_access_token, expire}; kept until a minute before it expires. An API answering 99991663
  (or 99991661/99991668: the token invalid or missing) is asked once more with a fresh token: the SDK's
  own client caches the token and does not refresh it on that answer.
- Messages: POST {domain}/open-apis/im/v1/messages?receive_id_type=open_id {receive_id, msg_type,
  content (a JSON string)} — text, interactive (a card), image, file.
- Uploads: POST /open-apis/im/v1/images (image_type=message, image) → image_key;
  POST /open-apis/im/v1/files (file_type, file_name, file) → file_key.
- A file or image a user sent: GET /open-apis/im/v1/messages/{message_id}/resources/{key}?type=file|image
  → the bytes (an error is a JSON body with its code), as lark-oapi's `im.v1.message_resource.get` asks.

Limits (发送消息, https://open.feishu.cn/document/server-docs/im-v1/message/create): 1,000 requests a
minute and 50 a second per app, and 5 a second to one user or one group. Over them Feishu answers HTTP 429
or code 99991400 (the app's rate; x-ogw-ratelimit-reset says when), 230020 (one user's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.config import FeishuConfig
from bot.groups.limits import Rate, RobotLimiter
from bot.platform_http import Download, PlatformApi, download, json_object, request
from bot.sender.policy import PermanentError, RateLimited, TemporaryError

APP_RATES = (Rate(50, 1.0), Rate(1000, 60.0))
PEER_RATES = (Rate(5, 1.0),)
TOKEN_CODES = {99991661, 99991663, 99991668}
THROTTLE_CODES = {99991400, 230020}
THROTTLE_S = 1.0
FILE_TYPES = {"pdf": "pdf", "doc": "doc", "docx": "doc", "xls": "xls", "xlsx": "xls", "ppt": "ppt"}


class FeishuApi(PlatformApi):
    NAME = "Feishu"

    def __init__(
        self, config: FeishuConfig, http: aiohttp.ClientSession, limiter: RobotLimiter | None = None
    ) -> None:
        if config.app_secret is None:
            raise ValueError("no Feishu app secret (CCERBOT_FEISHU_APP_SECRET)")
        super().__init__(http, limiter, f"feishu:{config.app_id}")
        self.config = config
        self.domain = config.domain.rstrip("/")
        self._secret = config.app_secret.get_secret_value()

    async def _fetch_token(self) -> tuple[str, float]:
        status, data, _ = await self._request(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json_body={"app_id": self.config.app_id, "app_secret": self._secret},
        )
        token = data.get("tenant_access_token")
        if data.get("code") != 0 or not isinstance(token, str):
            error = f"Feishu tenant token: HTTP {status} {data.get('code')} {data.get('msg', '')}"
            raise (TemporaryError if status >= 500 or status == 429 else PermanentError)(error)
        return token, float(data.get("expire", 7200))

    async def send(self, open_id: str, msg_type: str, content: Mapping[str, Any]) -> str:
        """A message to one user; its message_id."""
        body = {
            "receive_id": open_id,
            "msg_type": msg_type,
            "content": json.dumps(content, ensure_ascii=False),
        }
        async with self._slot("messages", APP_RATES), self._slot(f"peer:{open_id}", PEER_RATES):
            data = await self._call(
                "/open-apis/im/v1/messages", json_body=body, params={"receive_id_type": "open_id"}
            )
        return str(data.get("message_id", ""))

    async def upload_image(self, image: bytes, filename: str) -> str:
        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("image_type", "message")
            data.add_field("image", image, filename=filename, content_type="application/octet-stream")
            return data

        async with self._slot("images", APP_RATES):
            data = await self._call("/open-apis/im/v1/images", form=form)
        return str(data["image_key"])

    async def upload_file(self, content: bytes, filename: str) -> str:
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("file_type", FILE_TYPES.get(extension, "stream"))
            data.add_field("file_name", filename)
            data.add_field("file", content, filename=filename, content_type="application/octet-stream")
            return data

        async with self._slot("files", APP_RATES):
            data = await self._call("/open-apis/im/v1/files", form=form)
        return str(data["file_key"])

    async def download_resource(self, message_id: str, key: str, kind: str, limit: int) -> Download:
        """The bytes of the file (`kind` "file") or image ("image") a message carries; TooLarge past
        `limit`."""
        path = f"/open-apis/im/v1/messages/{quote(message_id, safe='')}/resources/{quote(key, safe='')}"
        for attempt in (1, 2):
            token = await self.token()
            async with self._slot("resources", APP_RATES):
                pass  # under the app's rate; the transfer itself holds no slot (others' calls go on)
            got = await download(
                self.http,
                self.NAME,
                f"{self.domain}{path}",
                limit=limit,
                params={"type": kind},
                headers={"Authorization": f"Bearer {token}"},
            )
            if got.status == 200:
                return got
            answer = json_object(got.data)
            code = answer.get("code")
            if code in TOKEN_CODES and attempt == 1:
                self.forget_token(token)
                continue
            error = f"Feishu message resource: HTTP {got.status} {code} {answer.get('msg', '')}".strip()
            if got.status == 429 or code in THROTTLE_CODES:
                raise RateLimited(error, retry_after=THROTTLE_S)
            raise (TemporaryError if got.status >= 500 else PermanentError)(error)
        raise AssertionError("unreachable")

    # --- plumbing ----------------------------------------------------------------------------------

    async def _call(
        self,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        form: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.token()
            headers = {"Authorization": f"Bearer {token}"}
            status, answer, reset = await self._request(
                path, json_body=json_body, form=form() if form else None, params=params, headers=headers
            )
            code = answer.get("code")
            if code in TOKEN_CODES and attempt == 1:
                self.forget_token(token)  # revoked or expired before its time: once more with a new one
                continue
            if code == 0:
                data = answer.get("data")
                return data if isinstance(data, dict) else {}
            error = f"Feishu {path}: HTTP {status} {code} {answer.get('msg', '')}".strip()
            if status == 429 or code in THROTTLE_CODES:
                raise RateLimited(error, retry_after=reset or THROTTLE_S)
            if status >= 500 or code is None:
                raise TemporaryError(error)
            raise PermanentError(error)
        raise AssertionError("unreachable")

    async def _request(
        self,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        form: aiohttp.FormData | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], float | None]:
        answer = await request(
            self.http,
            self.NAME,
            "POST",
            f"{self.domain}{path}",
            json_body=json_body,
            form=form,
            params=params,
            headers=headers,
        )
        reset = answer.headers.get("x-ogw-ratelimit-reset")
        return answer.status, answer.data, float(reset) if reset and reset.isdigit() else None
