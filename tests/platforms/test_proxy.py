"""Every outbound HTTP client goes through the configured proxy: group robots, DingTalk, Feishu."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.config import DingTalkConfig, FeishuConfig, Settings
from bot.dingtalk.api import DingTalkApi
from bot.feishu.api import FeishuApi
from bot.groups.trial import try_groups as send_test_messages
from bot.net import http_session
from tests.groups.servers import WeComServer
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.proxy import ForwardProxy


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


async def test_group_robots_go_through_the_proxy(proxy: ForwardProxy) -> None:
    with WeComServer() as wecom:
        url = wecom.add_robot()
        settings = Settings(proxy=proxy.url, groups=[{"province": "*", "kind": "wecom", "url": url}])
        [result] = await send_test_messages(settings)
        assert result.ok, result.error
        assert len(wecom.delivered(url)) == 1
    assert proxy.paths() == ["/cgi-bin/webhook/send"]


async def test_dingtalk_and_feishu_calls_go_through_the_proxy(
    proxy: ForwardProxy, dingtalk: DingTalkGateway, feishu: FeishuPlatform
) -> None:
    settings = Settings(
        proxy=proxy.url,
        dingtalk=DingTalkConfig(
            client_id=dingtalk.client_id,
            client_secret=SecretStr(dingtalk.client_secret),
            openapi_url=dingtalk.url,
        ),
        feishu=FeishuConfig(app_id=feishu.app_id, app_secret=SecretStr(feishu.app_secret), domain=feishu.url),
    )
    assert settings.dingtalk is not None and settings.feishu is not None
    async with http_session(settings) as http:
        await DingTalkApi(settings.dingtalk, http).send_to_users(
            ["staff001"], "sampleText", {"content": "经代理"}
        )
        await FeishuApi(settings.feishu, http).send("ou_emitter", "text", {"text": "经代理"})
    assert proxy.paths() == [
        "/v1.0/oauth2/accessToken",
        "/v1.0/robot/oToMessages/batchSend",
        "/open-apis/auth/v3/tenant_access_token/internal",
        "/open-apis/im/v1/messages",
    ]
    assert len(dingtalk.sent_of("batch")) == 1 and len(feishu.sent_of("message")) == 1


async def test_without_a_proxy_setting_the_environment_s_is_used(
    proxy: ForwardProxy, feishu: FeishuPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)  # the environment, not a library: what a deployment sets
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings = Settings(
        feishu=FeishuConfig(app_id=feishu.app_id, app_secret=SecretStr("feishusecret"), domain=feishu.url)
    )
    assert settings.feishu is not None
    async with http_session(settings) as http:
        await FeishuApi(settings.feishu, http).send("ou_emitter", "text", {"text": "经环境代理"})
    assert proxy.paths() == ["/open-apis/auth/v3/tenant_access_token/internal", "/open-apis/im/v1/messages"]
