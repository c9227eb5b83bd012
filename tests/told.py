"""Intake as the service runs it: with the notifier that tells senders and officers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.config import Settings
from bot.notices.message import MessageNotices
from mail.intake import IntakeConfig


def settings_like(config: IntakeConfig, **values: Any) -> Settings:
    """Settings whose trusted senders are the config's, in the first cycle."""
    senders = config.senders
    listed = {
        "ncsc": sorted(senders.ncsc),
        "provinces": {p: sorted(a) for p, a in senders.provinces.items()},
        "registry": sorted(senders.registry),
    }
    return Settings(cycle="2019-2020", senders=listed, **values)


def notifying(config: IntakeConfig, lang: str = "zh", **values: Any) -> IntakeConfig:
    """The config with the service's notifier (receipts in `lang`)."""
    return replace(config, notify=MessageNotices(settings_like(config, lang=lang, **values)))
