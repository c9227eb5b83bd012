"""Loopback servers that speak DingTalk's and Feishu's protocols, started per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.wecom_server import WeComServer


@pytest.fixture
def dingtalk() -> Iterator[DingTalkGateway]:
    with DingTalkGateway() as server:
        yield server


@pytest.fixture
def feishu() -> Iterator[FeishuPlatform]:
    with FeishuPlatform() as server:
        yield server


@pytest.fixture
def wecom() -> Iterator[WeComServer]:
    with WeComServer() as server:
        yield server
