"""WeCom's server API as ccerbot uses it, with aiohttp through the configured proxy.

- Token: GET {api}/cgi-bin/gettoken?corpid=…&corpsecret=… → {errcode, access_token, expires_in}; kept
  until a minute before it expires, fetched again on 40001/40014/42001 (invalid or expired).
- App messages: POST {api}/cgi-bin/message/send?access_token=… {touser, msgtype, agentid, …} →
  {errcode, errmsg, invaliduser} (https://developer.work.weixin.qq.com/document/path/90236).
- Media: POST {api}/cgi-bin/media/upload?access_token=…&type=image|file, multipart "media" → media_id;
  GET {api}/cgi-bin/media/get?access_token=…&media_id=… → the bytes of a member's image (an error is a
  JSON body with its errcode) (https://developer.work.weixin.qq.com/document/path/90254).

Limits (发送应用消息, 频率限制 in the same page and https://developer.work.weixin.qq.com/document/path/90312):
an app may message one member at most 30 times a minute and 1,000 times an hour (beyond it WeCom drops
messages), and an enterprise call one API at most 10,000 times a minute; over a rate it answers 45009
(and 45033 for concurrent calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.config import WeComConfig
from bot.groups.limits import Rate, RobotLimiter
from bot.platform_http import Download, PlatformApi, download, json_object, request
from bot.sender.policy import PermanentError, RateLimited, TemporaryError

PEER_RATES = (Rate(30, 60.0), Rate(1000, 3600.0))
API_RATES = (Rate(10_000, 60.0),)
TOKEN_CODES = {40001, 40014, 42001}
THROTTLE_CODES = {45009, 45033}
THROTTLE_S = 60.0  # WeCom blocks a client that went over a per-minute limit for a minute


class WeComApi(PlatformApi):
    NAME = "WeCom"

    def __init__(
        self, config: WeComConfig, http: aiohttp.ClientSession, limiter: RobotLimiter | None = None
    ) -> None:
        if config.secret is None:
            raise ValueError("no WeCom app secret (CCERBOT_WECOM_SECRET)")
        super().__init__(http, limiter, f"wecom:{config.corp_id}:{config.agent_id}")
        self.config = config
        self.base = config.api_url.rstrip("/")
        self._secret = config.secret.get_secret_value()

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self.config.corp_id, "corpsecret": self._secret}
        status, data = await self._request("GET", "/cgi-bin/gettoken", params=params)
        token = data.get("access_token")
        if data.get("errcode") != 0 or not isinstance(token, str):
            error = f"WeCom gettoken: HTTP {status} {data.get('errcode')} {data.get('errmsg', '')}"
            raise (TemporaryError if status != 200 or data.get("errcode") == -1 else PermanentError)(error)
        return token, float(data.get("expires_in", 7200))

    async def send(self, user_id: str, msgtype: str, content: Mapping[str, Any]) -> None:
        body = {
            "touser": user_id,
            "msgtype": msgtype,
            "agentid": self.config.agent_id,
            msgtype: dict(content),
        }
        async with self._slot("send", API_RATES), self._slot(f"peer:{user_id}", PEER_RATES):
            data = await self._call("/cgi-bin/message/send", json_body=body)
        if data.get("invaliduser"):
            raise PermanentError(f"WeCom message/send: unknown user {data['invaliduser']}")

    async def upload(self, content: bytes, filename: str, kind: str) -> str:
        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("media", content, filename=filename, content_type="application/octet-stream")
            return data

        async with self._slot("upload", API_RATES):
            data = await self._call("/cgi-bin/media/upload", form=form, params={"type": kind})
        return str(data["media_id"])

    async def download_media(self, media_id: str, limit: int) -> Download:
        """The bytes of a member's image (its message's MediaId); TooLarge past `limit`."""
        for attempt in (1, 2):
            token = await self.token()
            async with self._slot("media_get", API_RATES):
                pass  # under the enterprise's rate; the transfer holds no slot
            got = await download(
                self.http,
                self.NAME,
                f"{self.base}/cgi-bin/media/get",
                limit=limit,
                params={"access_token": token, "media_id": media_id},
            )
            # an error comes as JSON with status 200: the served type tells it from an image
            answer = json_object(got.data) if got.content_type in ("application/json", "text/plain") else {}
            code = answer.get("errcode")
            if got.status == 200 and code is None:
                return got
            if code in TOKEN_CODES and attempt == 1:
                self.forget_token(token)
                continue
            error = f"WeCom media/get: HTTP {got.status} {code} {answer.get('errmsg', '')}".strip()
            if code in THROTTLE_CODES or got.status == 429:
                raise RateLimited(error, retry_after=THROTTLE_S)
            if code in (None, -1) or got.status >= 500:
                raise TemporaryError(error)
            raise PermanentError(error)
        raise AssertionError("unreachable")

    async def _call(
        self, path: str, *, json_body: Any = None, form: Any = None, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.token()
            query = {"access_token": token, **(params or {})}
            status, data = await self._request(
                "POST", path, params=query, json_body=json_body, form=form() if form else None
            )
            code = data.get("errcode")
            if code in TOKEN_CODES and attempt == 1:
                self.forget_token(token)
                continue
            if code == 0:
                return data
            error = f"WeCom {path}: HTTP {status} {code} {data.get('errmsg', '')}".strip()
            if code in THROTTLE_CODES or status == 429:
                raise RateLimited(error, retry_after=THROTTLE_S)
            if code in (None, -1) or status >= 500:
                raise TemporaryError(error)
            raise PermanentError(error)
        raise AssertionError("unreachable")

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: aiohttp.FormData | None = None,
    ) -> tuple[int, dict[str, Any]]:
        answer = await request(
            self.http, self.NAME, method, f"{self.base}{path}", params=params, json_body=json_body, form=form
        )
        return answer.status, answer.data
