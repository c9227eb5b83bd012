"""DingTalk's OpenAPI as ccerbot uses it, with aiohttp through the configured proxy.

- Access token: POST {openapi}/v1.0/oauth2/accessToken {appKey, appSecret} → {accessToken, expireIn};
  kept until a minute before it expires, fetched again when a call answers 401 (revoked or expired).
- Stream gateway: POST {openapi}/v1.0/gateway/connections/open → {endpoint, ticket}.
- 1:1 robot messages: POST {openapi}/v1.0/robot/oToMessages/batchSend {robotCode, userIds (≤ 20),
  msgKey, msgParam (a JSON string)} → {processQueryKey, invalidStaffIdList, flowControlledStaffIdList}
  (https://open.dingtalk.com/document/orgapp/chatbots-send-one-on-one-chat-messages-in-batches).
- Media: POST {oapi}/media/upload?access_token=…&type=image|file, multipart "media" → {errcode, media_id}
  (the older host, which the SDK writes in as oapi.dingtalk.com: here it is configured).
- Replies: POST to a message's sessionWebhook → {errcode, errmsg}.
- Files sent to the robot: POST {openapi}/v1.0/robot/messageFiles/download {downloadCode, robotCode} →
  {downloadUrl}, a temporary link whose GET gives the bytes
  (https://open.dingtalk.com/document/orgapp/download-the-file-content-of-the-robot-receiving-message).

Limits (调用频率限制, https://open.dingtalk.com/document/orgapp/invocation-frequency-limit): an internal
app may call one API at most 20 times a second; over it DingTalk answers HTTP 403
Forbidden.AccessDenied.QpsLimitForApi (or 429), and batchSend lists the users it flow-controlled.
Errors are the sender's retry policy classes, so the outbox channel maps nothing.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import DingTalkConfig
from bot.groups.limits import Rate, RobotLimiter
from bot.platform_http import Download, PlatformApi, download, request
from bot.sender.policy import PermanentError, RateLimited, TemporaryError

log = logging.getLogger(__name__)

API_RATE = (Rate(20, 1.0),)  # per API and app
THROTTLE_S = 1.0
MAX_USERS = 20  # userIds in one batchSend
UA = "ccerbot dingtalk-stream"


class TokenRefused(PermanentError):
    """The client id or secret was refused: [dingtalk] must be fixed."""


@dataclass(frozen=True)
class Upload:
    media_id: str
    kind: str  # image | file


class DingTalkApi(PlatformApi):
    NAME = "DingTalk"

    def __init__(
        self, config: DingTalkConfig, http: aiohttp.ClientSession, limiter: RobotLimiter | None = None
    ) -> None:
        if config.client_secret is None:
            raise ValueError("no DingTalk client secret (CCERBOT_DINGTALK_CLIENT_SECRET)")
        super().__init__(http, limiter, f"dingtalk:{config.client_id}")
        self.config = config
        self.openapi = config.openapi_url.rstrip("/")
        self.oapi = config.oapi_url.rstrip("/")
        self.robot_code = config.robot_code or config.client_id
        self._secret = config.client_secret.get_secret_value()

    # --- access token ------------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float]:
        status, data = await self._post_json(
            f"{self.openapi}/v1.0/oauth2/accessToken",
            {"appKey": self.config.client_id, "appSecret": self._secret},
        )
        token = data.get("accessToken")
        if status != 200 or not isinstance(token, str):
            error = f"DingTalk access token: HTTP {status} {data.get('code', '')} {data.get('message', '')}"
            if 400 <= status < 500 and status != 429:
                raise TokenRefused(error.strip())
            raise TemporaryError(error.strip())
        return token, float(data.get("expireIn", 7200))

    # --- the stream gateway ------------------------------------------------------------------------

    async def open_connection(self, topics: Sequence[Mapping[str, str]]) -> tuple[str, str]:
        """(endpoint, ticket) of a new Stream-mode connection."""
        status, data = await self._post_json(
            f"{self.openapi}/v1.0/gateway/connections/open",
            {
                "clientId": self.config.client_id,
                "clientSecret": self._secret,
                "subscriptions": list(topics),
                "ua": UA,
                "localIp": _local_ip(),
            },
        )
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if status != 200 or not isinstance(endpoint, str) or not isinstance(ticket, str):
            raise TemporaryError(
                f"DingTalk connections/open: HTTP {status} {data.get('message', '')}".strip()
            )
        return endpoint, ticket

    # --- robot messages ----------------------------------------------------------------------------

    async def send_to_users(self, user_ids: Sequence[str], msg_key: str, param: Mapping[str, Any]) -> None:
        """One 1:1 robot message to each user; raises for the whole when any of them did not get it."""
        body = {
            "robotCode": self.robot_code,
            "userIds": list(user_ids)[:MAX_USERS],
            "msgKey": msg_key,
            "msgParam": json.dumps(param, ensure_ascii=False),
        }
        data = await self._openapi("/v1.0/robot/oToMessages/batchSend", body)
        if data.get("flowControlledStaffIdList"):
            raise RateLimited("DingTalk batchSend: flow controlled", retry_after=THROTTLE_S)
        if data.get("invalidStaffIdList"):
            raise PermanentError(f"DingTalk batchSend: unknown user {data['invalidStaffIdList']}")

    async def upload(self, data: bytes, filename: str, kind: str) -> Upload:
        """Upload an image or a file; its media id for a robot message."""
        for attempt in (1, 2):
            token = await self.token()
            form = aiohttp.FormData()
            form.add_field("media", data, filename=filename, content_type="application/octet-stream")
            url = f"{self.oapi}/media/upload"
            params = {"access_token": token, "type": kind}
            async with self._slot("upload", API_RATE):
                status, answer = await self._request(url, data=form, params=params)
            code = answer.get("errcode")
            if code in (40014, 42001) and attempt == 1:  # invalid or expired token
                self.forget_token(token)
                continue
            media = answer.get("media_id")
            if status == 200 and code == 0 and isinstance(media, str):
                return Upload(media, kind)
            raise _error(f"DingTalk media upload: HTTP {status} {code} {answer.get('errmsg', '')}", status)
        raise AssertionError("unreachable")

    async def download_file(self, download_code: str, limit: int) -> Download:
        """The bytes of a file or picture a user sent the robot (its message's downloadCode); TooLarge past
        `limit`."""
        body = {"downloadCode": download_code, "robotCode": self.robot_code}
        data = await self._openapi("/v1.0/robot/messageFiles/download", body)
        url = data.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise PermanentError("DingTalk messageFiles/download: no downloadUrl")
        got = await download(self.http, self.NAME, url, limit=limit)
        if got.status != 200:
            raise _error(f"DingTalk file download: HTTP {got.status}", got.status)
        return got

    async def reply(self, session_webhook: str, body: Mapping[str, Any]) -> None:
        """A message into the conversation a robot message came from; raises unless DingTalk took it."""
        status, answer = await self._request(session_webhook, json_body=body)
        if status != 200 or answer.get("errcode") != 0:
            raise _error(
                f"DingTalk sessionWebhook: HTTP {status} {answer.get('errcode')} {answer.get('errmsg')}",
                status,
            )

    # --- plumbing ----------------------------------------------------------------------------------

    async def _openapi(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.token()
            headers = {"x-acs-dingtalk-access-token": token}
            async with self._slot(path, API_RATE):
                status, data = await self._request(f"{self.openapi}{path}", json_body=body, headers=headers)
            if status == 401 and attempt == 1:  # revoked, or expired before its time
                self.forget_token(token)
                continue
            if status == 200:
                return data
            code = str(data.get("code", ""))
            error = f"DingTalk {path}: HTTP {status} {code} {data.get('message', '')}".strip()
            if status == 429 or "QpsLimit" in code or "Throttl" in code:
                raise RateLimited(error, retry_after=THROTTLE_S)
            raise _error(error, status)
        raise AssertionError("unreachable")

    async def _post_json(self, url: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        return await self._request(url, json_body=body)

    async def _request(
        self,
        url: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        data: aiohttp.FormData | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        answer = await request(
            self.http, self.NAME, "POST", url, json_body=json_body, form=data, params=params, headers=headers
        )
        return answer.status, answer.data


def _error(message: str, status: int) -> TemporaryError | PermanentError:
    if status == 429 or status >= 500 or status == 200:
        return TemporaryError(message)
    return PermanentError(message)


def _local_ip() -> str:
    """The address the gateway is told (the SDK sends it too); none needed for the connection."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return ""
