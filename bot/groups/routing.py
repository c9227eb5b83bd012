"""Which configured groups receive an officer alert, and how an outbox item names its group.

An item's recipient is the group's name, or its position in [[groups]] (from 0) when it has none: naming
groups keeps the items queued for them right when the list is reordered.
"""

from __future__ import annotations

from bot.config import GroupConfig, Settings


def group_channels(settings: Settings, province: str, kind: str) -> list[str]:
    """The group channels (wecom, dingtalk, feishu) through which an officer alert of `kind` about
    `province` goes, sorted; for `reminders --json`."""
    return sorted({group.kind for group in settings.groups if group.receives(province, kind)})


def groups_for(settings: Settings, province: str, kind: str) -> list[tuple[str, GroupConfig]]:
    """(recipient, group) for every group that receives an officer alert of `kind` about `province`."""
    return [
        (recipient_of(index, group), group)
        for index, group in enumerate(settings.groups)
        if group.receives(province, kind)
    ]


def recipient_of(index: int, group: GroupConfig) -> str:
    return group.name or str(index)


def group_for(settings: Settings, recipient: str) -> GroupConfig | None:
    """The group an outbox item is for; None when the configuration no longer has it."""
    for group in settings.groups:
        if group.name and group.name == recipient:
            return group
    if recipient.isdigit() and int(recipient) < len(settings.groups):
        group = settings.groups[int(recipient)]
        return None if group.name else group
    return None
