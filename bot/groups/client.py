"""Delivery to a group robot: one digest of the texts due for the group, cut to the platform's size, each
message sent in the robot's next rate slot, and one result for the whole.

A message whose request timed out may have reached the group all the same; it is retried like any other
failure, so a group may, rarely, see it twice. Addresses are never put into errors or logs: the key or
token in them is the robot's only credential.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from bot.config import GroupConfig
from bot.groups import dingtalk, feishu, wecom
from bot.groups.digest import Message, digest
from bot.groups.limits import Busy, RobotLimiter
from bot.groups.platform import JSON_HEADERS, Answer, Platform, Rules

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
PLATFORMS: Mapping[str, Platform] = {
    module.NAME: cast(Platform, module) for module in (wecom, dingtalk, feishu)
}


@dataclass(frozen=True)
class DeliveryResult:
    """One digest's fate: sent; or to retry (after `retry_after` when the platform said); or refused for good
    (`permanent`: a person must fix the robot or its settings, and officers should hear of it elsewhere)."""

    ok: bool
    retry_after: float | None = None
    permanent: bool = False
    error: str | None = None
    delivered: int = 0  # how many of the texts, from the first, reached the group whole


def platform_of(group: GroupConfig) -> Platform:
    return PLATFORMS[group.kind]


def label(group: GroupConfig) -> str:
    """How logs and reports name a group: its name, or its platform and host (never the address)."""
    return group.name or f"{group.kind}@{urlsplit(group.url).hostname or '?'}"


async def deliver(
    group: GroupConfig,
    texts: Sequence[str],
    *,
    session: aiohttp.ClientSession | None = None,
    limiter: RobotLimiter | None = None,
    lang: str = "zh",
    rules: Rules | None = None,
    timeout_s: float = TIMEOUT_S,
) -> DeliveryResult:
    """Send `texts` to the group as one digest (several messages only where the platform's size demands)."""
    platform = platform_of(group)
    rules = rules or platform.RULES
    messages = digest(texts, lambda text: platform.size(text) <= rules.max_bytes, lang)
    limiter = limiter or RobotLimiter()
    delivered = 0
    async with _session(session) as http:
        for message in messages:
            answer = await _send(http, limiter, group, rules, message, timeout_s)
            if not answer.ok:
                log.info("group %s: %s", label(group), answer.error)
                return DeliveryResult(False, answer.retry_after, answer.permanent, answer.error, delivered)
            delivered = message.completes
    return DeliveryResult(True, delivered=len(texts))


@asynccontextmanager
async def _session(session: aiohttp.ClientSession | None) -> AsyncIterator[aiohttp.ClientSession]:
    if session is not None:
        yield session
        return
    async with aiohttp.ClientSession(trust_env=True) as own:  # HTTPS_PROXY; callers pass a configured one
        yield own


async def _send(
    http: aiohttp.ClientSession,
    limiter: RobotLimiter,
    group: GroupConfig,
    rules: Rules,
    message: Message,
    timeout_s: float,
) -> Answer:
    platform = platform_of(group)
    secret = group.secret.get_secret_value() if group.secret else None
    try:
        async with limiter.slot(group.url, rules.rates):
            # signed in the slot: after a wait, the timestamp is still the moment of sending
            request = platform.request(group.url, secret, message.text, time.time())
            answer = await _post(http, platform, rules, request.url, request.body, timeout_s)
    except Busy as busy:
        wait = busy.retry_after
        return Answer.retry(f"{platform.NAME}: rate limit, next slot in {wait:.0f} s", wait)
    except TimeoutError:
        answer = Answer.retry(f"{platform.NAME}: no answer within {timeout_s:g} s")
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as error:  # a typo in [[groups]]
        answer = Answer.refused(_redact(f"{platform.NAME}: invalid webhook address: {error}", group.url))
    except aiohttp.ClientError as error:
        answer = Answer.retry(_redact(f"{platform.NAME}: {type(error).__name__}: {error}", group.url))
    if answer.pause_s:
        limiter.pause(group.url, answer.pause_s)
    return answer


async def _post(
    http: aiohttp.ClientSession, platform: Platform, rules: Rules, url: str, body: bytes, timeout_s: float
) -> Answer:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    target = URL(url, encoded=True)  # the signature is URL-encoded already and must reach the platform as is
    async with http.post(target, data=body, headers=JSON_HEADERS, timeout=timeout) as response:
        payload = _json(await response.read())
        return platform.answer(response.status, payload, rules)


def _json(raw: bytes) -> Mapping[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _redact(text: str, url: str) -> str:
    """`text` without any word that holds the address (its key or token is the robot's credential)."""
    parts = urlsplit(url)
    secrets = [part for part in (parts.query, parts.path) if len(part) > 1]
    words = ["…" if any(secret in word for secret in secrets) else word for word in text.split(" ")]
    return " ".join(words)[:500]
