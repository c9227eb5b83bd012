"""Every text a person reads, as Jinja2 templates: templates/<lang>/<name>.j2."""

from __future__ import annotations

import html
import tomllib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).parent
LANGS = ("zh", "en")


def tonnes(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def cn_date(value: date | datetime | None, lang: str = "zh", with_time: bool = True) -> str:
    if value is None:
        return "—"
    if lang == "en":
        text = value.strftime("%Y-%m-%d")
        return f"{text} {value:%H:%M}" if with_time and isinstance(value, datetime) else text
    text = f"{value.year}年{value.month}月{value.day}日"
    return f"{text} {value:%H:%M}" if with_time and isinstance(value, datetime) else text


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


@lru_cache(maxsize=1)
def labels() -> dict[str, dict[str, dict[str, str]]]:
    with (HERE / "labels.toml").open("rb") as handle:
        return tomllib.load(handle)


def label(group: str, key: str, lang: str = "zh") -> str:
    """A name from labels.toml; the key itself when the table has none (never an exception in a message)."""
    table = labels().get(lang if lang in LANGS else "zh", {}).get(group, {})
    return table.get(key, key)


def step_label(step: str, cycle: Any, lang: str = "zh") -> str:
    """A next step as the cycle's procedure words it: later cycles offset by operations, not cancellations."""
    procedure = getattr(cycle, "procedure", "cancellation")
    table = labels().get(lang if lang in LANGS else "zh", {})
    own = table.get(f"step_{procedure}", {})
    return own.get(step) or label("step", step, lang)


@lru_cache(maxsize=4)
def environment(escape_html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE)),
        undefined=StrictUndefined,
        autoescape=escape_html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(tonnes=tonnes, cn_date=cn_date, percent=percent)
    env.globals.update(label=label, step_label=step_label)
    return env


def render(template: str, lang: str = "zh", /, *, html_mode: bool = False, **context: Any) -> str:
    """Render templates/<lang>/<template>.j2; html_mode escapes values for Telegram's HTML parse mode."""
    lang = lang if lang in LANGS else "zh"
    loaded = environment(html_mode).get_template(f"{lang}/{template}.j2")
    return loaded.render(lang=lang, **context).strip()


def escape(text: str) -> str:
    return html.escape(text, quote=False)
