"""CCER project numbers as they are compared."""

from __future__ import annotations

import unicodedata


def normalize_project_no(raw: str) -> str:
    """NFKC, no white space, upper case; a purely numeric number loses its leading zeros.

    Spreadsheets store 备案编号 such as "0158" as the number 158, so both spellings must meet.
    """
    folded = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if folded.isdigit():
        return folded.lstrip("0") or "0"
    return folded
