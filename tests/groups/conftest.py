"""Fixtures: a loopback server per platform, and group configurations pointing at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.groups.helpers import KINDS, SIGNING, ServerFactory
from tests.groups.servers import SERVERS, DingTalkServer, FeishuServer, RobotServer, WeComServer


@pytest.fixture
def wecom_server() -> Iterator[WeComServer]:
    with WeComServer() as server:
        yield server


@pytest.fixture
def dingtalk_server() -> Iterator[DingTalkServer]:
    with DingTalkServer() as server:
        yield server


@pytest.fixture
def feishu_server() -> Iterator[FeishuServer]:
    with FeishuServer() as server:
        yield server


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=SIGNING)
def signing_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def start_server() -> Iterator[ServerFactory]:
    """Starts a server of a platform, with limits given as arguments (the platform's by default)."""
    started: list[RobotServer] = []

    def start(kind: str, **limits: object) -> RobotServer:
        server = SERVERS[kind](**limits)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
