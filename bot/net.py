"""Outbound HTTP through the configured proxy: government networks often reach the Internet only so.

`proxy` in the settings wins; unset, the clients honour HTTPS_PROXY / HTTP_PROXY (and NO_PROXY) from the
environment, as aiohttp (trust_env), httpx (PTB) and requests (the SDKs' own calls) all can.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.config import Settings


def proxy_url(settings: Settings) -> str | None:
    """The proxy named in the settings (None: the environment's, where each client looks itself)."""
    return settings.proxy or None


def http_session(settings: Settings, **options: Any) -> aiohttp.ClientSession:
    """An aiohttp session that goes through the configured proxy, or the environment's."""
    proxy = proxy_url(settings)
    if proxy is not None:
        return aiohttp.ClientSession(proxy=proxy, **options)
    return aiohttp.ClientSession(trust_env=True, **options)
