"""What the OpenAPI clients of DingTalk, Feishu and WeCom share: an access token kept until shortly before
it expires, calls kept under the platform's rates, answers read as JSON objects, and a failed request
raised as the sender's retry classes (so the outbox channel maps nothing)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.groups.limits import Busy, Rate, RobotLimiter
from bot.sender.policy import DeliveryTimeout, RateLimited, TemporaryError

TIMEOUT_S = 15.0
DOWNLOAD_TIMEOUT_S = 120.0  # a file of the most a chat takes, over a slow line
TOKEN_MARGIN_S = 60.0
CHUNK = 64 * 1024


class TokenCache:
    """One access token, fetched under a lock (so concurrent calls ask the platform once) and kept until
    `margin_s` before the lifetime the platform gave it."""

    def __init__(
        self, fetch: Callable[[], Awaitable[tuple[str, float]]], margin_s: float = TOKEN_MARGIN_S
    ) -> None:
        self._fetch = fetch  # → (token, lifetime in seconds)
        self._margin_s = margin_s
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            token, lifetime = await self._fetch()
            self._token = (token, time.monotonic() + max(0.0, lifetime - self._margin_s))
            return token

    def forget(self, token: str) -> None:
        """The platform refused `token` (revoked, or expired before its time): the next call fetches one."""
        if self._token is not None and self._token[0] == token:
            self._token = None


class PlatformApi:
    """A platform's client: its HTTP session, its access token, its rate limiter. `scope` names the app in
    the limiter's keys (each app has rates of its own)."""

    NAME = "platform"

    def __init__(self, http: aiohttp.ClientSession, limiter: RobotLimiter | None, scope: str) -> None:
        self.http = http
        self._tokens = TokenCache(self._fetch_token)
        self._limiter = limiter or RobotLimiter(max_wait_s=5.0)
        self._scope = scope

    async def token(self) -> str:
        return await self._tokens.get()

    def forget_token(self, token: str) -> None:
        self._tokens.forget(token)

    async def _fetch_token(self) -> tuple[str, float]:
        """A new access token from the platform, and its lifetime in seconds."""
        raise NotImplementedError

    @asynccontextmanager
    async def _slot(self, key: str, rates: tuple[Rate, ...]) -> AsyncIterator[None]:
        """Under the rates; a slot further off than a few seconds gives the work back."""
        try:
            async with self._limiter.slot(f"{self._scope}:{key}", rates):
                yield
        except Busy as busy:
            raise RateLimited(f"{self.NAME} {key}: {busy}", retry_after=busy.retry_after) from None


@dataclass(frozen=True)
class Answer:
    status: int
    data: dict[str, Any]  # {} when the body is not a JSON object
    headers: Mapping[str, str]


async def request(
    http: aiohttp.ClientSession,
    platform: str,
    method: str,
    url: str,
    *,
    json_body: Any = None,
    form: aiohttp.FormData | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Answer:
    """One call; no answer in time is a DeliveryTimeout, a connection failure a TemporaryError, each
    named by `platform`."""
    try:
        async with http.request(
            method,
            url,
            json=json_body,
            data=form,
            params=params,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            raw = await response.read()
            return Answer(response.status, json_object(raw), response.headers)
    except TimeoutError:
        raise DeliveryTimeout(f"{platform}: no answer within {timeout_s:g} s") from None
    except aiohttp.ClientError as error:
        raise TemporaryError(f"{platform}: {type(error).__name__}: {error}") from None


def json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`; {} for anything else (an HTML error page, an array, nothing)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class TooLarge(Exception):
    """A file larger than the most a chat takes: refused before it was read whole."""


@dataclass(frozen=True)
class Download:
    status: int
    data: bytes  # the body (an error's JSON too), never more than the limit
    content_type: str  # as served, without parameters; "" when none


async def download(
    http: aiohttp.ClientSession,
    platform: str,
    url: str,
    *,
    limit: int,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
) -> Download:
    """GET a file's bytes, reading no more than `limit`: a larger one (by its Content-Length, or as it
    arrives when it has none) raises TooLarge. Failures are raised as `request`'s are."""
    try:
        async with http.get(
            url, params=params, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            served = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if response.content_length is not None and response.content_length > limit:
                raise TooLarge(f"{platform}: {response.content_length} bytes, over {limit}")
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > limit:
                    raise TooLarge(f"{platform}: over {limit} bytes")
            return Download(response.status, bytes(data), served)
    except TimeoutError:
        raise DeliveryTimeout(f"{platform}: no file within {timeout_s:g} s") from None
    except aiohttp.ClientError as error:
        raise TemporaryError(f"{platform}: {type(error).__name__}: {error}") from None
