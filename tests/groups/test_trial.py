"""`ccerbot groups test`: a test message to every group, and a report of each."""

from __future__ import annotations

from typing import get_args

from bot.config import GroupConfig, GroupKind, Settings
from bot.groups import trial
from bot.groups.client import PLATFORMS
from tests.groups.helpers import PROVINCE, SECRET
from tests.groups.servers import DingTalkServer, FeishuServer, WeComServer


def entry(kind: str, url: str, name: str, secret: str | None = None, province: str = PROVINCE) -> GroupConfig:
    data = {"province": province, "kind": kind, "url": url, "name": name, "secret": secret}
    return GroupConfig.model_validate(data)


async def test_every_group_gets_a_test_message_and_a_result(
    wecom_server: WeComServer, dingtalk_server: DingTalkServer, feishu_server: FeishuServer
) -> None:
    wecom_ok = wecom_server.add_robot()
    wecom_down = wecom_server.add_robot()
    wecom_server.set_down(wecom_down, 503)
    dingtalk_ok = dingtalk_server.add_robot(secret=SECRET, keyword="CCER")
    feishu_wrong_secret = feishu_server.add_robot(secret=SECRET)
    config = Settings(
        cycle="2019-2020",
        groups=[
            entry("wecom", wecom_ok, "鲁碳企业微信"),
            entry("dingtalk", dingtalk_ok, "鲁碳钉钉", SECRET, province="*"),
            entry("feishu", feishu_wrong_secret, "鲁碳飞书", "not-the-secret"),
            entry("wecom", wecom_down, "备用群"),
        ],
    )
    results = await trial.try_groups(config)

    assert [(r.name, r.kind, r.ok, r.permanent) for r in results] == [
        ("鲁碳企业微信", "wecom", True, False),
        ("鲁碳钉钉", "dingtalk", True, False),
        ("鲁碳飞书", "feishu", False, True),
        ("备用群", "wecom", False, False),
    ]
    [message] = wecom_server.delivered(wecom_ok)
    assert message.startswith("【CCER 履约提醒】") and "测试消息" in message and "鲁碳企业微信" in message
    assert "全国各省" in dingtalk_server.delivered(dingtalk_ok)[0]
    assert not trial.all_ok(results)

    report = trial.format_results(results).splitlines()
    assert report[0] == "✓ 企业微信「鲁碳企业微信」（山东省）：测试消息已送达"
    assert report[1] == "✓ 钉钉「鲁碳钉钉」（全国）：测试消息已送达"
    assert report[2].startswith("✗ 飞书「鲁碳飞书」（山东省）：被拒绝：feishu 19021")
    assert report[3].startswith("✗ 企业微信「备用群」（山东省）：暂未送达，稍后重试：wecom: HTTP 503")
    assert "加签" in report[-1]


async def test_a_group_without_a_name_is_named_by_platform_and_host(wecom_server: WeComServer) -> None:
    url = wecom_server.add_robot()
    results = await trial.try_groups(Settings(cycle="2019-2020", groups=[entry("wecom", url, "")]))
    assert results[0].name == "wecom@127.0.0.1" and results[0].ok
    assert url not in trial.format_results(results)


async def test_no_groups_configured() -> None:
    assert await trial.try_groups(Settings(cycle="2019-2020")) == []
    assert "未配置任何群机器人" in trial.format_results([])
    assert "No group robot" in trial.format_results([], "en")


def test_the_group_platforms_are_declared_once() -> None:
    """The configuration's kinds are the platforms the client can deliver to, and nothing more."""
    assert set(PLATFORMS) == set(get_args(GroupKind))
