"""Group-robot servers on loopback, one per platform (WeCom, DingTalk, Feishu), that hold clients to the
platform's rules: they check signatures, keywords and allowed addresses, enforce the size and rate limits,
and answer beyond them with the platform's own error codes (see bot/groups/<platform>.py for the sources).

The signature checks are written here again, from the documentation, rather than imported from the
client: a mistake in the client's signing then fails the tests instead of agreeing with itself.

Each server runs its own event loop in a thread, so it serves sync and async tests alike; its limits are
arguments, so tests can scale them down (a few messages a fraction of a second) and stay fast. Rate limits
are enforced over a sliding window (the strictest reading) and every request counts, refused ones too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

from tests.platforms.loopback import HOST, ThreadedServer

SIGNATURE_VALIDITY_S = 3600  # both DingTalk and Feishu accept a timestamp within an hour
Refusal = tuple[int, str]


@dataclass
class Robot:
    token: str
    secret: str | None = None
    keyword: str | None = None
    allowed_ips: tuple[str, ...] | None = None
    down_status: int | None = None  # answers every request with this HTTP status
    delay_s: float = 0.0  # answers this late
    stamps: deque[float] = field(default_factory=deque)
    throttled_until: float = float("-inf")


@dataclass(frozen=True)
class Received:
    """One request as the server saw it: `code` 0 means the message reached the group."""

    token: str
    code: int
    content: str | None
    size: int
    at: float
    rate_violation: bool = False


class RobotServer(ThreadedServer):
    """The part common to the three platforms; subclasses say how each one speaks."""

    RATES: ClassVar[tuple[tuple[int, float], ...]]
    MAX_BYTES: ClassVar[int]
    THROTTLE_S: ClassVar[float]
    THROTTLED: ClassVar[Refusal]
    UNKNOWN_ROBOT: ClassVar[Refusal]

    def __init__(
        self,
        *,
        rates: Sequence[tuple[int, float]] | None = None,
        max_bytes: int | None = None,
        throttle_s: float | None = None,
    ) -> None:
        super().__init__()
        self.rates = tuple(rates if rates is not None else self.RATES)
        self.max_bytes = max_bytes if max_bytes is not None else self.MAX_BYTES
        self.throttle_s = throttle_s if throttle_s is not None else self.THROTTLE_S
        self._robots: dict[str, Robot] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()

    # --- robots ------------------------------------------------------------------------------------

    def add_robot(
        self,
        *,
        secret: str | None = None,
        keyword: str | None = None,
        allowed_ips: tuple[str, ...] | None = None,
    ) -> str:
        """A new robot; returns its webhook address."""
        token = secrets.token_hex(16)
        with self._lock:
            self._robots[token] = Robot(token, secret, keyword, allowed_ips)
        return self.url(token)

    def url(self, token: str) -> str:
        raise NotImplementedError

    def token_of(self, url: str) -> str:
        raise NotImplementedError

    def set_down(self, url: str, status: int | None = 502) -> None:
        with self._lock:
            self._robots[self.token_of(url)].down_status = status

    def throttle(self, url: str, seconds: float) -> None:
        """The robot went over its rate elsewhere: the platform refuses it for `seconds` from now."""
        with self._lock:
            self._robots[self.token_of(url)].throttled_until = time.monotonic() + seconds

    def set_delay(self, url: str, seconds: float) -> None:
        with self._lock:
            self._robots[self.token_of(url)].delay_s = seconds

    # --- what happened -----------------------------------------------------------------------------

    def received(self, url: str | None = None) -> list[Received]:
        token = None if url is None else self.token_of(url)
        with self._lock:
            return [r for r in self._received if token is None or r.token == token]

    def delivered(self, url: str) -> list[str]:
        """The texts that reached the robot's group, in order."""
        return [r.content or "" for r in self.received(url) if r.code == 0]

    def codes(self, url: str) -> list[int]:
        return [r.code for r in self.received(url)]

    def rate_violations(self, url: str | None = None) -> int:
        """Requests that came beyond the robot's rate (throttled ones included)."""
        return sum(1 for r in self.received(url) if r.rate_violation)

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.route(), self._handle)

    # --- one request -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        raw = await request.read()
        with self._lock:
            robot = self._robots.get(self.token_from(request))
            down, delay = (robot.down_status, robot.delay_s) if robot else (None, 0.0)
        if robot is None:
            return self.reply(*self.UNKNOWN_ROBOT)
        if delay:
            await asyncio.sleep(delay)
        if down is not None:
            self._record(Received(robot.token, -down, None, len(raw), now))
            return web.Response(status=down, text="Bad Gateway")
        with self._lock:
            violation = self._over_rate(robot, now)
        refusal = self.THROTTLED if violation else self._check(robot, request, raw)
        content = None if refusal else self.content(json.loads(raw))
        self._record(Received(robot.token, refusal[0] if refusal else 0, content, len(raw), now, violation))
        return self.reply(*refusal) if refusal else self.success()

    def _over_rate(self, robot: Robot, now: float) -> bool:
        robot.stamps.append(now)
        longest = max(period for _, period in self.rates)
        while robot.stamps and robot.stamps[0] <= now - longest:
            robot.stamps.popleft()
        if now < robot.throttled_until:
            return True
        for count, period in self.rates:
            if sum(1 for stamp in robot.stamps if stamp > now - period) > count:
                robot.throttled_until = max(robot.throttled_until, now + self.throttle_s)
                return True
        return False

    def _check(self, robot: Robot, request: web.Request, raw: bytes) -> Refusal | None:
        try:
            body = json.loads(raw)
        except ValueError:
            return self.malformed()
        if not isinstance(body, dict):
            return self.malformed()
        return (
            self.authenticate(robot, request, body)
            or self.check_ip(robot, request)
            or self.check_size(raw, body)
            or self.check_keyword(robot, body)
        )

    def check_ip(self, robot: Robot, request: web.Request) -> Refusal | None:
        if robot.allowed_ips is None or request.remote in robot.allowed_ips:
            return None
        return self.ip_refused(request.remote or "")

    def check_keyword(self, robot: Robot, body: dict[str, Any]) -> Refusal | None:
        if robot.keyword is None or robot.keyword in (self.content(body) or ""):
            return None
        return self.keyword_missing()

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    # --- what each platform says differently -------------------------------------------------------

    def route(self) -> str:
        raise NotImplementedError

    def token_from(self, request: web.Request) -> str:
        raise NotImplementedError

    def reply(self, code: int, message: str) -> web.Response:
        raise NotImplementedError

    def success(self) -> web.Response:
        return self.reply(0, "ok")

    def authenticate(self, robot: Robot, request: web.Request, body: dict[str, Any]) -> Refusal | None:
        return None

    def check_size(self, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        raise NotImplementedError

    def content(self, body: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def malformed(self) -> Refusal:
        raise NotImplementedError

    def ip_refused(self, address: str) -> Refusal:
        raise NotImplementedError

    def keyword_missing(self) -> Refusal:
        raise NotImplementedError


class WeComServer(RobotServer):
    """qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…: text ≤ 2,048 bytes, markdown ≤ 4,096, 20 a minute."""

    NAME = "wecom"
    RATES = ((20, 60.0),)
    MAX_BYTES = 2048
    MAX_MARKDOWN_BYTES = 4096
    THROTTLE_S = 60.0
    THROTTLED = (45009, "api freq out of limit")
    UNKNOWN_ROBOT = (93000, "invalid webhook url")

    def url(self, token: str) -> str:
        return f"http://{HOST}:{self.port}/cgi-bin/webhook/send?key={token}"

    def token_of(self, url: str) -> str:
        return url.rsplit("key=", 1)[1].split("&")[0]

    def route(self) -> str:
        return "/cgi-bin/webhook/send"

    def token_from(self, request: web.Request) -> str:
        return request.query.get("key", "")

    def reply(self, code: int, message: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": message})

    def check_size(self, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        kind = body.get("msgtype")
        if kind not in ("text", "markdown"):
            return (40008, "invalid message type")
        content = self.content(body) or ""
        if not content:
            return (44004, "empty content")
        limit = self.max_bytes if kind == "text" else self.MAX_MARKDOWN_BYTES
        if len(content.encode()) > limit:
            return (40058, f"{kind}.content exceed max length {limit}. invalid Request Parameter")
        return None

    def content(self, body: dict[str, Any]) -> str | None:
        part = body.get(str(body.get("msgtype")), {})
        return part.get("content") if isinstance(part, dict) else None

    def malformed(self) -> Refusal:
        return (40035, "invalid request parameter")

    def ip_refused(self, address: str) -> Refusal:
        return (60020, f"not allow to access from your ip, from ip: {address}")

    def keyword_missing(self) -> Refusal:
        raise AssertionError("WeCom robots have no keyword setting")


class DingTalkServer(RobotServer):
    """oapi.dingtalk.com/robot/send?access_token=…: body ≤ 20,000 bytes, 20 a minute then 10 minutes off."""

    NAME = "dingtalk"
    RATES = ((20, 60.0),)
    MAX_BYTES = 20_000
    THROTTLE_S = 600.0
    THROTTLED = (130101, "send too fast, exceed 20 times per minute")
    UNKNOWN_ROBOT = (300001, "token is not exist")

    def url(self, token: str) -> str:
        return f"http://{HOST}:{self.port}/robot/send?access_token={token}"

    def token_of(self, url: str) -> str:
        return url.rsplit("access_token=", 1)[1].split("&")[0]

    def route(self) -> str:
        return "/robot/send"

    def token_from(self, request: web.Request) -> str:
        return request.query.get("access_token", "")

    def reply(self, code: int, message: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": message})

    def authenticate(self, robot: Robot, request: web.Request, body: dict[str, Any]) -> Refusal | None:
        if robot.secret is None:
            return None
        timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > SIGNATURE_VALIDITY_S * 1000:
            return (310000, "sign not match, timestamp is not within one hour")
        string_to_sign = f"{timestamp}\n{robot.secret}".encode()
        expected = base64.b64encode(hmac.new(robot.secret.encode(), string_to_sign, hashlib.sha256).digest())
        if not hmac.compare_digest(expected.decode(), sign):
            return (310000, "sign not match")
        return None

    def check_size(self, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        if len(raw) > self.max_bytes:
            return (460101, f"message too long, exceed {self.max_bytes} bytes")
        if body.get("msgtype") not in ("text", "markdown") or not self.content(body):
            return (40035, "缺少参数 json")
        return None

    def content(self, body: dict[str, Any]) -> str | None:
        kind = body.get("msgtype")
        part = body.get(str(kind), {})
        if not isinstance(part, dict):
            return None
        if kind == "markdown":
            return f"{part.get('title', '')}\n{part.get('text', '')}"
        return part.get("content")

    def malformed(self) -> Refusal:
        return (40035, "缺少参数 json")

    def ip_refused(self, address: str) -> Refusal:
        return (310000, f"ip {address} not in whitelist")

    def keyword_missing(self) -> Refusal:
        return (310000, "keywords not in content")


class FeishuServer(RobotServer):
    """open.feishu.cn/open-apis/bot/v2/hook/…: body ≤ 20 KB, 5 a second and 100 a minute."""

    NAME = "feishu"
    RATES = ((5, 1.0), (100, 60.0))
    MAX_BYTES = 20 * 1024
    THROTTLE_S = 0.0  # refuses what is over the rate; takes the next request that is within it
    THROTTLED = (11232, "frequency limited")
    UNKNOWN_ROBOT = (19001, "param invalid: incoming webhook access token invalid")

    def url(self, token: str) -> str:
        return f"http://{HOST}:{self.port}/open-apis/bot/v2/hook/{token}"

    def token_of(self, url: str) -> str:
        return url.rsplit("/", 1)[1]

    def route(self) -> str:
        return "/open-apis/bot/v2/hook/{token}"

    def token_from(self, request: web.Request) -> str:
        return request.match_info.get("token", "")

    def reply(self, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "msg": message, "data": {}})

    def success(self) -> web.Response:
        return web.json_response(
            {"code": 0, "msg": "success", "data": {}, "StatusCode": 0, "StatusMessage": "success"}
        )

    def authenticate(self, robot: Robot, request: web.Request, body: dict[str, Any]) -> Refusal | None:
        if robot.secret is None:
            return None
        refused = (19021, "sign match fail or timestamp is not within one hour from current time")
        timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_VALIDITY_S:
            return refused
        key = f"{timestamp}\n{robot.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return None if hmac.compare_digest(expected, sign) else refused

    def check_size(self, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        if len(raw) > self.max_bytes or not self.content(body):
            return (9499, "Bad Request")
        return None

    def content(self, body: dict[str, Any]) -> str | None:
        part = body.get("content")
        if body.get("msg_type") == "text" and isinstance(part, dict):
            text = part.get("text")
            return text if isinstance(text, str) else None
        if body.get("msg_type") in ("post", "interactive"):
            return json.dumps(body.get("content") or body.get("card"), ensure_ascii=False)
        return None

    def malformed(self) -> Refusal:
        return (9499, "Bad Request")

    def ip_refused(self, address: str) -> Refusal:
        return (19022, "Ip Not Allowed")

    def keyword_missing(self) -> Refusal:
        return (19024, "Key Words Not Found")


SERVERS: dict[str, type[RobotServer]] = {s.NAME: s for s in (WeComServer, DingTalkServer, FeishuServer)}
