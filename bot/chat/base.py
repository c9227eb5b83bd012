"""What every view receives, and the small helpers they share: rendering, refusals, access guards."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Engine

from bot.chat.reply import Button, Reply
from compliance.cycle import Cycle
from storage.access import Identity
from storage.peer import Peer
from templates import render

if TYPE_CHECKING:
    from bot.config import Settings

T = TypeVar("T")
Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Query:
    """One question from one chat, everything a view needs to answer it."""

    engine: Engine
    cycle: Cycle
    peer: Peer  # the chat asking, on its platform
    identity: Identity | None  # None: the chat is not bound
    args: tuple[str, ...]
    now: datetime
    lang: str
    email_binding: bool = True  # whether a code can be mailed (SMTP is configured)
    settings: Settings | None = None  # for views whose decisions someone must hear of (applications)

    def with_args(self, args: Sequence[str]) -> Query:
        return replace(self, args=tuple(args))


View = Callable[[Query], Reply]


def say(template: str, q: Query, keyboard: Keyboard = (), **context: Any) -> Reply:
    """A reply from templates/<lang>/<template>.j2, every value escaped for Telegram's HTML."""
    text = render(template, q.lang, html_mode=True, now=q.now, cycle=q.cycle, **context)
    return Reply(text, keyboard)


def refuse(q: Query, reason: str) -> Reply:
    """A polite no that tells nothing about what exists; how to bind when the chat is not bound."""
    return say("chat_refuse", q, reason=reason)


def time_left(deadline: datetime | None, now: datetime) -> tuple[int, int] | None:
    """(days, hours) before the deadline; None when there is none or it has passed."""
    if deadline is None or deadline <= now:
        return None
    seconds = int((deadline - now).total_seconds())
    return seconds // 86400, seconds % 86400 // 3600


def page_of(items: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int, int]:
    """The items of page `page` (1-based, clamped), that page, and how many pages there are."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 1), pages)
    return items[(page - 1) * size : page * size], page, pages


def as_page(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 1


def _role_only(role: str, scope: Callable[[Identity], str | None], refusal: str) -> Callable[[View], View]:
    """A guard: the view answers only a bound chat of `role` that has its `scope` (a unit, a province)."""

    def guard(view: View) -> View:
        @wraps(view)
        def guarded(q: Query) -> Reply:
            if q.identity is None:
                return refuse(q, "unbound")
            if q.identity.role != role or not scope(q.identity):
                return refuse(q, refusal)
            return view(q)

        return guarded

    return guard


emitters_only = _role_only("emitter", lambda identity: identity.unit_code, "emitters_only")
officers_only = _role_only("officer", lambda identity: identity.province, "officers_only")


def bound_only(view: View) -> View:
    @wraps(view)
    def guarded(q: Query) -> Reply:
        return refuse(q, "unbound") if q.identity is None else view(q)

    return guarded
