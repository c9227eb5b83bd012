"""DingTalk (钉钉, and 浙政钉 which shares its robot API) custom group robots.

From the platform's documentation, 自定义机器人接入 and its message types:
https://open.dingtalk.com/document/orgapp/custom-robot-access
https://open.dingtalk.com/document/development/robot-message-type
- POST JSON (UTF-8) to https://oapi.dingtalk.com/robot/send?access_token=…; msgtype "text" (text.content)
  or "markdown"; we send text, which every client shows as it is.
- Each robot sends at most 20 messages a minute; beyond that it is throttled for 10 minutes.
- Security setting 加签: timestamp in milliseconds (within an hour of DingTalk's clock), string to sign
  timestamp + "\\n" + secret (the SEC… string), HmacSHA256 keyed with the secret, Base64, then URL-encoded,
  appended to the address as &timestamp=…&sign=….
Answers, {"errcode": …, "errmsg": …}, as DingTalk gives them (seen in the field, e.g.
https://github.com/timonwong/prometheus-webhook-dingtalk/issues/30 and /197,
https://github.com/x-cold/dingtalk-robot/issues/7, https://github.com/sdvdxl/falcon-message/issues/7):
130101 send too fast, exceed 20 times per minute; 310000 sign not match / keywords not in content /
ip not in whitelist (the three security settings); 300001 token is not exist (the robot was removed);
460101 message too long, exceed 20000 bytes (the size of the request body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.groups.limits import Rate
from bot.groups.platform import Answer, Request, Rules, errcode_answer, text_message

NAME = "dingtalk"
RULES = Rules(max_bytes=20_000, rates=(Rate(20, 60.0),), throttle_s=600.0)
THROTTLED = 130101
REFUSED = {
    310000: "security setting not met",
    300001: "robot does not exist",
    460101: "message too long",
}


def size(content: str) -> int:
    """DingTalk counts the whole request body."""
    return len(_body(content))


def sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` parameter, already URL-encoded."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


def request(url: str, secret: str | None, content: str, now: float) -> Request:
    if secret:
        timestamp_ms = int(now * 1000)
        joiner = "&" if "?" in url else "?"
        url = f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"
    return Request(url, _body(content))


def answer(status: int, payload: Mapping[str, Any] | None, rules: Rules) -> Answer:
    return errcode_answer(NAME, status, payload, rules, throttled=THROTTLED, refused=REFUSED)


def _body(content: str) -> bytes:
    return text_message(content)
