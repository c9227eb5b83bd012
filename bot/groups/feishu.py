"""Feishu (飞书, Lark) custom group robots.

From the platform's documentation, 自定义机器人使用指南:
https://open.feishu.cn/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN
(also https://open.larkoffice.com/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN)
- POST JSON to https://open.feishu.cn/open-apis/bot/v2/hook/…; msg_type "text" with content.text.
- 100 requests a minute and 5 a second per robot; a request body of at most 20 KB (read here as 20,000
  bytes, the smaller of the two readings).
- Security setting 签名校验: timestamp in seconds (within an hour of Feishu's clock); timestamp + "\\n" +
  secret is the HmacSHA256 *key*, the message signed is empty; the Base64 of the result goes, with the
  timestamp as a string, into the JSON body as "sign" and "timestamp" (not URL-encoded, not in the address:
  unlike DingTalk).
Answers, {"code": …, "msg": …}: 19021 sign match fail or timestamp is not within one hour, 19022 Ip Not
Allowed, 19024 Key Words Not Found, 9499 Bad Request (malformed or over 20 KB), 11232 frequency limited
(over the rate, or the platform under load at :00 and :30), 19001 param invalid: incoming webhook access
token invalid (the robot was removed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bot.groups.limits import Rate
from bot.groups.platform import Answer, Request, Rules, compact_json, http_answer

NAME = "feishu"
RULES = Rules(max_bytes=20_000, rates=(Rate(5, 1.0), Rate(100, 60.0)), throttle_s=60.0)
THROTTLED = 11232
BAD_REQUEST = 9499
REFUSED = {
    19001: "invalid webhook",
    19021: "bad signature or clock",
    19022: "IP not allowed",
    19024: "keyword not found",
}
# a signature and a timestamp of the sizes they will have, for measuring a body before it is signed
_SIGN_PLACEHOLDER = "0" * 44
_TIMESTAMP_PLACEHOLDER = 1_000_000_000  # ten digits, as until the year 2286


def size(content: str) -> int:
    """Feishu counts the whole request body, signature included."""
    return len(_body(content, _TIMESTAMP_PLACEHOLDER, _SIGN_PLACEHOLDER, signed=True))


def sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def request(url: str, secret: str | None, content: str, now: float) -> Request:
    timestamp_s = int(now)
    signature = sign(secret, timestamp_s) if secret else ""
    return Request(url, _body(content, timestamp_s, signature, signed=bool(secret)))


def answer(status: int, payload: Mapping[str, Any] | None, rules: Rules) -> Answer:
    code = _code(payload)
    if code is None:
        return http_answer(NAME, status)
    message = str(payload.get("msg", payload.get("StatusMessage", ""))) if payload else ""
    error = f"{NAME} {code}: {message}".strip()
    if code == 0:
        return Answer.accepted()
    if code == THROTTLED or (code == BAD_REQUEST and "too many" in message.lower()):
        return Answer.retry(error, retry_after=rules.throttle_s, pause_s=rules.throttle_s)
    if code in REFUSED or code == BAD_REQUEST:
        return Answer.refused(error)
    return Answer.retry(error)  # codes we do not know: retried, reported if they last


def _code(payload: Mapping[str, Any] | None) -> int | None:
    if not payload:
        return None
    for field in ("code", "StatusCode"):  # StatusCode: the older answer, still sent alongside
        if isinstance(payload.get(field), int):
            return int(payload[field])
    return None


def _body(content: str, timestamp_s: int, signature: str, *, signed: bool) -> bytes:
    data: dict[str, Any] = {"msg_type": "text", "content": {"text": content}}
    if signed:
        data = {"timestamp": str(timestamp_s), "sign": signature, **data}
    return compact_json(data)
