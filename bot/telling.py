"""Errors said in the reader's language: the text is templates/<lang>/cli_error.j2 for the error's key."""

from __future__ import annotations

from typing import Any

from templates import render


class Telling(Exception):
    """Raised with a key and its values (`Telling(key="bad_code", code=…)`), or with a text as it is.

    str() is the Chinese text; told(lang) the text in `lang`."""

    def __init__(self, message: str = "", /, *, key: str | None = None, **params: Any) -> None:
        self.key, self.params = key, params
        super().__init__(render("cli_error", "zh", key=key, **params) if key else message)

    def told(self, lang: str) -> str:
        return render("cli_error", lang, key=self.key, **self.params) if self.key else str(self)


def told(error: BaseException, lang: str) -> str:
    return error.told(lang) if isinstance(error, Telling) else str(error)
