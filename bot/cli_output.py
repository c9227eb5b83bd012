"""How the command line prints: JSON for scripts, the chat's words for the time left."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from bot.chat.base import time_left as left_of
from templates import render


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=1, default=str)
    sys.stdout.write("\n")


def time_left(deadline: datetime | None, at: datetime, lang: str) -> str:
    """The chat's words for the time left (one phrase for a passed deadline everywhere); "" without one."""
    if deadline is None:
        return ""
    return render("cli", lang, part="time_left", left=left_of(deadline, at))
