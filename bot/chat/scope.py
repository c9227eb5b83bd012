"""Which province an officer's question is about: its own, or for a national officer the one it names."""

from __future__ import annotations

from collections.abc import Callable

from bot.chat import keyboards
from bot.chat.base import Query, View, officers_only, say
from bot.chat.reply import Reply
from bot.reports import province_names

ProvinceView = Callable[[Query, str], Reply]
NATIONAL = "*"


def scoped(command: str) -> Callable[[ProvinceView], View]:
    """An officer view about one province.

    A provincial officer always gets its own province, whatever the arguments say (a province named
    first is its own or is not a province to it). A national officer names the province first, or is
    shown the provinces to pick from.
    """

    def decorate(view: ProvinceView) -> View:
        @officers_only
        def run(q: Query) -> Reply:
            assert q.identity is not None and q.identity.province
            own = q.identity.province
            if own != NATIONAL:
                args = q.args[1:] if q.args[:1] == (own,) else q.args
                return view(q.with_args(args), own)
            known = province_names(q.engine, q.now)
            if q.args and q.args[0] in known:
                return view(q.with_args(q.args[1:]), q.args[0])
            return pick_province(q, command, known)

        run.__name__ = run.__qualname__ = getattr(view, "__name__", command)
        return run

    return decorate


def pick_province(q: Query, command: str, provinces: list[str]) -> Reply:
    return say(
        "chat_pick", q, keyboards.province_picker(command, provinces), command=command, provinces=provinces
    )
