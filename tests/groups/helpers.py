"""Group configurations for robots on the loopback servers."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from bot.config import GroupConfig
from tests.groups.servers import RobotServer

PROVINCE = "山东省"
SECRET = "SECd2f1c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123"
KINDS = ("wecom", "dingtalk", "feishu")
SIGNING = ("dingtalk", "feishu")
ServerFactory = Callable[..., RobotServer]  # the start_server fixture: kind, then limits


def group(kind: str, url: str, secret: str | None = None, name: str = "") -> GroupConfig:
    return GroupConfig(
        province=PROVINCE,
        kind=kind,  # type: ignore[arg-type]
        url=url,
        secret=SecretStr(secret) if secret else None,
        name=name or f"{kind} test group",
    )


def signed_robot(server: RobotServer, kind: str, **settings: object) -> GroupConfig:
    """A robot on `server` with the platform's security setting that signs, where it has one."""
    secret = SECRET if kind in SIGNING else None
    url = server.add_robot(secret=secret, **settings)  # type: ignore[arg-type]
    return group(kind, url, secret)
