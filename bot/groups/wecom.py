"""WeCom (企业微信, and 政务微信 which shares its robot API) group robots.

From the platform's documentation, 群机器人配置说明:
https://developer.work.weixin.qq.com/document/path/91770
(also https://work.weixin.qq.com/api/doc/90000/90136/91770)
- POST JSON to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…; the key in the address is the
  only credential (no signing): keep the address secret.
- msgtype "text": text.content at most 2,048 bytes, UTF-8. "markdown" allows 4,096 bytes, but members who
  read the group in WeChat (微信) rather than WeCom get "暂不支持此消息类型" instead of it (seen in the
  field: https://github.com/RayWangQvQ/BiliBiliToolPro/issues/804), so we send text.
- 20 messages a minute per robot; a client over a per-minute limit is blocked for 60 seconds
  (访问频率限制, https://developer.work.weixin.qq.com/document/path/90454: 按分钟拦截则被屏蔽60秒).
Answers, {"errcode": …, "errmsg": …} with HTTP 200 (codes explained at
https://open.work.weixin.qq.com/devtool/query?e=<code>): 45009 api freq out of limit (the minute's quota
is gone: blocked for a minute), 93000 invalid webhook url (the robot was removed or the key is wrong),
40058 content too long / invalid parameter, 40008 invalid message type, 44004 empty content,
60020 not allowed from this IP, -1 system busy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.groups.limits import Rate
from bot.groups.platform import Answer, Request, Rules, errcode_answer, text_message

NAME = "wecom"
RULES = Rules(max_bytes=2048, rates=(Rate(20, 60.0),), throttle_s=60.0)
THROTTLED = 45009
REFUSED = {
    93000: "invalid webhook url",
    40058: "content too long or invalid",
    40008: "invalid message type",
    44004: "empty content",
    60020: "IP not allowed",
}


def size(content: str) -> int:
    """The platform counts the bytes of text.content."""
    return len(content.encode())


def request(url: str, secret: str | None, content: str, now: float) -> Request:
    return Request(url, text_message(content))


def answer(status: int, payload: Mapping[str, Any] | None, rules: Rules) -> Answer:
    return errcode_answer(NAME, status, payload, rules, throttled=THROTTLED, refused=REFUSED)
