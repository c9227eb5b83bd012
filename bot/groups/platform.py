"""What the three group-robot platforms have in common: their limits, and what an answer of theirs means."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.groups.limits import Rate

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class Rules:
    """A platform's limits for one robot; tests pass smaller ones to keep their servers fast."""

    max_bytes: int  # what `Platform.size` of one message may reach
    rates: tuple[Rate, ...]
    throttle_s: float  # how long the platform refuses a robot that went over its rate


@dataclass(frozen=True)
class Answer:
    """What one request to a robot came to."""

    ok: bool
    permanent: bool = False
    retry_after: float | None = None
    error: str | None = None
    pause_s: float | None = None  # the platform stopped taking messages from this robot for so long

    @classmethod
    def accepted(cls) -> Answer:
        return cls(True)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None, pause_s: float | None = None) -> Answer:
        return cls(False, False, retry_after, error, pause_s)

    @classmethod
    def refused(cls, error: str) -> Answer:
        return cls(False, True, None, error)


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes


class Platform(Protocol):
    """One of wecom, dingtalk, feishu (each a module with these names)."""

    NAME: str
    RULES: Rules

    def size(self, content: str) -> int: ...

    def request(self, url: str, secret: str | None, content: str, now: float) -> Request: ...

    def answer(self, status: int, payload: Mapping[str, Any] | None, rules: Rules) -> Answer: ...


def compact_json(data: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON without escapes or spaces, so that its size is what the platform counts."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def http_answer(platform: str, status: int) -> Answer:
    """An answer with no platform code in it: judged by its HTTP status alone."""
    error = f"{platform}: HTTP {status}"
    if status == 429 or status == 408 or status >= 500:
        return Answer.retry(error)
    if 400 <= status < 500:
        # a webhook address that does not exist, or a proxy that refuses it: fixing needs a person
        return Answer.refused(error)
    # a 200 without the platform's JSON (a captive portal, a proxy's page): worth another try
    return Answer.retry(f"{error}, not the platform's answer")


def text_message(content: str) -> bytes:
    """WeCom's and DingTalk's plain text message (the same shape on both)."""
    return compact_json({"msgtype": "text", "text": {"content": content}})


def errcode_answer(
    platform: str,
    status: int,
    payload: Mapping[str, Any] | None,
    rules: Rules,
    *,
    throttled: int,
    refused: Collection[int],
) -> Answer:
    """WeCom's and DingTalk's answer: {"errcode": N, "errmsg": …}, 0 for success."""
    code = payload.get("errcode") if payload else None
    if not isinstance(code, int):
        return http_answer(platform, status)
    error = f"{platform} {code}: {payload.get('errmsg', '') if payload else ''}".strip()
    if code == 0:
        return Answer.accepted()
    if code == throttled:
        return Answer.retry(error, retry_after=rules.throttle_s, pause_s=rules.throttle_s)
    if code in refused:
        return Answer.refused(error)
    return Answer.retry(error)  # -1 (busy) and codes we do not know: retried, reported if they last
