"""Which groups receive an officer alert, and how outbox items name them."""

from __future__ import annotations

from typing import Any

from bot.config import GroupConfig, Settings
from bot.groups import group_channels, group_for, groups_for, recipient_of


def settings(*groups: dict[str, Any]) -> Settings:
    return Settings(cycle="2019-2020", groups=[GroupConfig.model_validate(g) for g in groups])


SHANDONG_WECOM = {"province": "山东省", "kind": "wecom", "url": "https://q.example/send?key=1", "name": "鲁"}
NATIONAL_FEISHU = {"province": "*", "kind": "feishu", "url": "https://f.example/hook/2"}
TARGETS_ONLY = {
    "province": "山东省",
    "kind": "dingtalk",
    "url": "https://d.example/robot/send?access_token=3",
    "kinds": ["target_95", "target_100"],
}


def test_every_officer_alert_and_anomaly_by_default() -> None:
    config = settings(SHANDONG_WECOM)
    assert group_channels(config, "山东省", "weekly_summary_due") == ["wecom"]
    assert group_channels(config, "山东省", "offset_over_cap") == ["wecom"]
    assert group_channels(config, "江苏省", "offset_over_cap") == []


def test_a_national_group_receives_every_province() -> None:
    config = settings(SHANDONG_WECOM, NATIONAL_FEISHU)
    assert group_channels(config, "山东省", "target_95") == ["feishu", "wecom"]
    assert group_channels(config, "江苏省", "target_95") == ["feishu"]


def test_kinds_narrow_what_a_group_receives() -> None:
    config = settings(TARGETS_ONLY)
    assert group_channels(config, "山东省", "target_95") == ["dingtalk"]
    assert group_channels(config, "山东省", "applications_pending") == []


def test_no_groups_no_channels() -> None:
    assert group_channels(settings(), "山东省", "target_95") == []


def test_recipients_are_names_or_positions_and_lead_back_to_their_group() -> None:
    config = settings(SHANDONG_WECOM, NATIONAL_FEISHU, TARGETS_ONLY)
    found = groups_for(config, "山东省", "target_95")
    assert [recipient for recipient, _ in found] == ["鲁", "1", "2"]
    for recipient, group in found:
        assert group_for(config, recipient) is group
    assert recipient_of(0, config.groups[0]) == "鲁"
    assert group_for(config, "0") is None  # the first group has a name: its position does not name it
    assert group_for(config, "7") is None and group_for(config, "gone") is None
