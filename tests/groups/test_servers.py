"""The loopback servers themselves hold clients to the platforms' rules: raw requests, no client code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.groups.helpers import SECRET
from tests.groups.servers import DingTalkServer, FeishuServer, RobotServer, WeComServer


async def post(url: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as response:
        answer: dict[str, Any] = await response.json()
        return answer


def wecom_text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def dingtalk_signed(url: str, secret: str, timestamp_ms: int, *, encode: bool = True) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()
    return f"{url}&timestamp={timestamp_ms}&sign={quote(sign, safe='') if encode else sign}"


def feishu_text(content: str, secret: str | None = None, timestamp_s: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"msg_type": "text", "content": {"text": content}}
    if secret is not None:
        timestamp_s = int(time.time()) if timestamp_s is None else timestamp_s
        key = f"{timestamp_s}\n{secret}".encode()
        sign = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        body |= {"timestamp": str(timestamp_s), "sign": sign}
    return body


def errcode(answer: dict[str, Any]) -> int:
    return int(answer.get("errcode", answer.get("code", -1)))


# --- WeCom ----------------------------------------------------------------------------------------


async def test_wecom_takes_2048_bytes_of_text_and_refuses_more(wecom_server: WeComServer) -> None:
    url = wecom_server.add_robot()
    assert errcode(await post(url, wecom_text("碳" * 682 + "ab"))) == 0  # 2,048 bytes
    assert errcode(await post(url, wecom_text("碳" * 683))) == 40058  # 2,049 bytes
    assert wecom_server.delivered(url) == ["碳" * 682 + "ab"]


async def test_wecom_answers_45009_beyond_20_a_minute(wecom_server: WeComServer) -> None:
    url = wecom_server.add_robot()
    codes = [errcode(await post(url, wecom_text(f"m{i}"))) for i in range(21)]
    assert codes == [0] * 20 + [45009]
    assert wecom_server.rate_violations(url) == 1


async def test_wecom_refuses_an_unknown_key(wecom_server: WeComServer) -> None:
    url = wecom_server.add_robot()
    assert errcode(await post(url.replace("key=", "key=0"), wecom_text("x"))) == 93000


# --- DingTalk -------------------------------------------------------------------------------------


async def test_dingtalk_checks_the_signature(dingtalk_server: DingTalkServer) -> None:
    url = dingtalk_server.add_robot(secret=SECRET)
    now_ms = int(time.time() * 1000)
    body = wecom_text("CCER")  # DingTalk's text message has the same shape
    assert errcode(await post(dingtalk_signed(url, SECRET, now_ms), body)) == 0
    assert errcode(await post(dingtalk_signed(url, "SECwrong", now_ms), body)) == 310000
    assert errcode(await post(url, body)) == 310000
    two_hours_ago = now_ms - 2 * 3600 * 1000
    assert errcode(await post(dingtalk_signed(url, SECRET, two_hours_ago), body)) == 310000


async def test_dingtalk_needs_the_signature_url_encoded(dingtalk_server: DingTalkServer) -> None:
    url = dingtalk_server.add_robot(secret=SECRET)
    now_ms = int(time.time() * 1000)
    while "+" not in dingtalk_signed(url, SECRET, now_ms, encode=False).rsplit("sign=", 1)[1]:
        now_ms += 1  # a timestamp whose signature holds a "+", which a raw query would read as a space
    raw = dingtalk_signed(url, SECRET, now_ms, encode=False)
    assert errcode(await post(raw, wecom_text("x"))) == 310000


async def test_dingtalk_throttles_for_10_minutes_beyond_20_a_minute(dingtalk_server: DingTalkServer) -> None:
    url = dingtalk_server.add_robot()
    codes = [errcode(await post(url, wecom_text(f"m{i}"))) for i in range(22)]
    assert codes == [0] * 20 + [130101, 130101]


async def test_dingtalk_counts_the_whole_body_against_20000_bytes(dingtalk_server: DingTalkServer) -> None:
    url = dingtalk_server.add_robot()
    envelope = len(json.dumps(wecom_text(""), ensure_ascii=False).encode())
    fits = wecom_text("x" * (20_000 - envelope))
    assert errcode(await post(url, fits)) == 0
    assert errcode(await post(url, wecom_text("x" * (20_001 - envelope)))) == 460101


async def test_dingtalk_keyword_and_ip_settings(dingtalk_server: DingTalkServer) -> None:
    keyword = dingtalk_server.add_robot(keyword="告警")
    assert errcode(await post(keyword, wecom_text("没有关键词"))) == 310000
    assert errcode(await post(keyword, wecom_text("告警：有关键词"))) == 0
    elsewhere = dingtalk_server.add_robot(allowed_ips=("10.0.0.1",))
    assert (await post(elsewhere, wecom_text("x")))["errmsg"] == "ip 127.0.0.1 not in whitelist"


async def test_dingtalk_refuses_an_unknown_token(dingtalk_server: DingTalkServer) -> None:
    url = dingtalk_server.add_robot()
    assert errcode(await post(url.replace("access_token=", "access_token=0"), wecom_text("x"))) == 300001


# --- Feishu ---------------------------------------------------------------------------------------


async def test_feishu_checks_the_signature_in_the_body(feishu_server: FeishuServer) -> None:
    url = feishu_server.add_robot(secret=SECRET)
    assert errcode(await post(url, feishu_text("x", SECRET))) == 0
    assert errcode(await post(url, feishu_text("x", "wrong"))) == 19021
    assert errcode(await post(url, feishu_text("x"))) == 19021
    stale = int(time.time()) - 7200
    assert errcode(await post(url, feishu_text("x", SECRET, stale))) == 19021


async def test_feishu_answers_11232_beyond_5_a_second() -> None:
    # the second is stretched to a minute so that the sixth request is surely inside the window
    with FeishuServer(rates=((5, 60.0), (100, 60.0))) as server:
        url = server.add_robot()
        codes = [errcode(await post(url, feishu_text(f"m{i}"))) for i in range(7)]
    assert codes == [0] * 5 + [11232, 11232]


async def test_feishu_takes_at_most_20_kb_a_body(feishu_server: FeishuServer) -> None:
    url = feishu_server.add_robot()
    envelope = len(json.dumps(feishu_text(""), ensure_ascii=False).encode())
    assert errcode(await post(url, feishu_text("x" * (20 * 1024 - envelope)))) == 0
    assert errcode(await post(url, feishu_text("x" * (20 * 1024 + 1 - envelope)))) == 9499


async def test_feishu_keyword_ip_and_unknown_robot(feishu_server: FeishuServer) -> None:
    keyword = feishu_server.add_robot(keyword="告警")
    assert errcode(await post(keyword, feishu_text("没有关键词"))) == 19024
    elsewhere = feishu_server.add_robot(allowed_ips=("10.0.0.1",))
    assert errcode(await post(elsewhere, feishu_text("x"))) == 19022
    assert errcode(await post(keyword + "0", feishu_text("x"))) == 19001


@pytest.mark.parametrize("server_type", [WeComServer, DingTalkServer, FeishuServer])
async def test_a_robot_that_is_down_answers_502(server_type: type[RobotServer]) -> None:
    with server_type() as server:
        url = server.add_robot()
        server.set_down(url)
        async with aiohttp.ClientSession() as session, session.post(url, data=b"{}") as response:
            assert response.status == 502
