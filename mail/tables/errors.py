"""The one error a table reader raises."""

from __future__ import annotations


class TableUnreadable(ValueError):
    """The attachment cannot be read as a table; `reason` says why, in Chinese, for the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
