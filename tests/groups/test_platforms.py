"""Each platform's message shape, signature and answers, without a server."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bot.groups import dingtalk, feishu, wecom
from bot.groups.platform import Answer

NOW = 1_700_000_000.123


def test_wecom_sends_text_and_counts_its_content() -> None:
    request = wecom.request(
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "ignored", "碳市场", NOW
    )
    assert request.url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    assert json.loads(request.body) == {"msgtype": "text", "text": {"content": "碳市场"}}
    assert wecom.size("碳市场") == 9


def test_dingtalk_signs_in_the_address() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=t"
    request = dingtalk.request(url, "SECabc", "x", NOW)
    query = parse_qs(urlsplit(request.url).query)  # decodes the URL-encoding once, as DingTalk does
    assert query["access_token"] == ["t"] and query["timestamp"] == ["1700000000123"]
    assert len(base64.b64decode(query["sign"][0])) == 32  # an HMAC-SHA256, intact after decoding
    assert request.url.endswith(f"&sign={dingtalk.sign('SECabc', 1700000000123)}")
    assert dingtalk.request(url, None, "x", NOW).url == url


def test_dingtalk_signature_is_url_encoded() -> None:
    signs = [dingtalk.sign("SECabc", t) for t in range(1700000000000, 1700000000050)]
    assert any("%2B" in s or "%2F" in s for s in signs)
    assert not any(c in s for s in signs for c in "+/=")
    assert all(len(base64.b64decode(unquote(s))) == 32 for s in signs)


def test_dingtalk_counts_the_whole_body() -> None:
    assert dingtalk.size("碳") == len('{"msgtype":"text","text":{"content":"碳"}}'.encode())
    assert dingtalk.size('a"\nb') == dingtalk.size("abcdef")  # escapes count as sent


def test_feishu_signs_in_the_body_with_seconds() -> None:
    request = feishu.request("https://open.feishu.cn/open-apis/bot/v2/hook/h", "s3cret", "x", NOW)
    body = json.loads(request.body)
    assert body["timestamp"] == "1700000000" and body["sign"] == feishu.sign("s3cret", 1700000000)
    assert body["msg_type"] == "text" and body["content"] == {"text": "x"}
    assert request.url == "https://open.feishu.cn/open-apis/bot/v2/hook/h"
    unsigned = json.loads(feishu.request(request.url, None, "x", NOW).body)
    assert "sign" not in unsigned and "timestamp" not in unsigned


def test_feishu_measures_a_body_as_it_will_be_once_signed() -> None:
    signed = feishu.request("u", "s3cret", "碳" * 10, NOW).body
    assert feishu.size("碳" * 10) == len(signed)


@pytest.mark.parametrize(
    ("module", "payload", "ok", "permanent", "retry_after"),
    [
        (wecom, {"errcode": 0, "errmsg": "ok"}, True, False, None),
        (wecom, {"errcode": 45009, "errmsg": "api freq out of limit"}, False, False, 60.0),
        (wecom, {"errcode": 93000, "errmsg": "invalid webhook url"}, False, True, None),
        (wecom, {"errcode": 40058, "errmsg": "text.content exceed max length"}, False, True, None),
        (wecom, {"errcode": -1, "errmsg": "system busy"}, False, False, None),
        (dingtalk, {"errcode": 0, "errmsg": "ok"}, True, False, None),
        (dingtalk, {"errcode": 130101, "errmsg": "send too fast"}, False, False, 600.0),
        (dingtalk, {"errcode": 310000, "errmsg": "sign not match"}, False, True, None),
        (dingtalk, {"errcode": 310000, "errmsg": "keywords not in content"}, False, True, None),
        (dingtalk, {"errcode": 300001, "errmsg": "token is not exist"}, False, True, None),
        (dingtalk, {"errcode": 460101, "errmsg": "message too long"}, False, True, None),
        (feishu, {"code": 0, "msg": "success"}, True, False, None),
        (feishu, {"StatusCode": 0, "StatusMessage": "success"}, True, False, None),
        (feishu, {"code": 11232, "msg": "frequency limited"}, False, False, 60.0),
        (feishu, {"code": 9499, "msg": "too many request"}, False, False, 60.0),
        (feishu, {"code": 9499, "msg": "Bad Request"}, False, True, None),
        (feishu, {"code": 19021, "msg": "sign match fail"}, False, True, None),
        (feishu, {"code": 19022, "msg": "Ip Not Allowed"}, False, True, None),
        (feishu, {"code": 19024, "msg": "Key Words Not Found"}, False, True, None),
        (feishu, {"code": 19001, "msg": "param invalid"}, False, True, None),
    ],
)
def test_answers(
    module: object, payload: dict[str, object], ok: bool, permanent: bool, retry_after: float | None
) -> None:
    answer: Answer = module.answer(200, payload, module.RULES)  # type: ignore[attr-defined]
    assert (answer.ok, answer.permanent, answer.retry_after) == (ok, permanent, retry_after)
    if not ok:
        assert str(payload.get("errcode", payload.get("code"))) in (answer.error or "")


@pytest.mark.parametrize("module", [wecom, dingtalk, feishu])
@pytest.mark.parametrize(
    ("status", "permanent"),
    [(502, False), (503, False), (429, False), (404, True), (403, True), (200, False)],
)
def test_answers_without_the_platform_json(module: object, status: int, permanent: bool) -> None:
    answer: Answer = module.answer(status, None, module.RULES)  # type: ignore[attr-defined]
    assert not answer.ok and answer.permanent is permanent
