"""Every command of the chat, declared once: its name, who may use it, its view, whether it shows in a
platform's command menu and whether it may take long. Views, menus, suggestions, the Telegram handlers and
the console all read this table; a platform adds nothing to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.chat import (
    applications,
    binding,
    documents,
    emitter,
    info,
    keyboards,
    lists,
    national,
    officer,
    screenshots,
)
from bot.chat.base import Query, View, say
from bot.chat.phrases import nearest_command
from bot.chat.reply import Reply
from storage.access import Identity

Audience = Literal["public", "emitter", "officer"]  # who may use it: anyone, a bound chat, an officer


@dataclass(frozen=True)
class Command:
    name: str  # what is typed after the slash, and the first word of a button's data
    audience: Audience
    view: View
    menu: bool = True  # listed in a platform's command menu, labelled by chat_command.<label>
    writes: bool = False  # changes the database: may wait for a lock, so never on the event loop
    label: str = ""  # key in templates' chat_command labels; the name when empty

    @property
    def label_key(self) -> str:
        return self.label or self.name


def status(q: Query) -> Reply:
    """An emitter's unit; for an officer, the province's overview (the same question, asked by an officer)."""
    if q.identity is not None and q.identity.role == "officer":
        return officer.overview(q)
    return emitter.status(q)


def unknown(q: Query) -> Reply:
    """Not understood: the command a mistyped one most likely meant, with a button for it; else a hint."""
    typed = q.args[0] if q.args else ""
    meant = nearest_command(typed, usable(q.identity)) if typed.startswith("/") or typed.isascii() else None
    keyboard = keyboards.rows([keyboards.button("", q.lang, meant, text=f"/{meant}")]) if meant else ()
    return say("chat_unknown", q, keyboard, bound=q.identity is not None, typed=typed, meant=meant)


# In the order of the command menu. A view checks who asks itself (base.emitters_only, officers_only):
# `audience` says to whom a command is worth suggesting, it is not the guard.
COMMANDS: tuple[Command, ...] = (
    Command("status", "emitter", status),
    Command("deadlines", "emitter", emitter.deadlines),
    Command("overview", "officer", officer.overview),
    Command("pending", "officer", officer.pending),
    Command("unit", "officer", officer.unit),
    Command("anomalies", "officer", lists.anomalies),
    Command("unmatched", "officer", lists.unmatched),
    Command("quarantine", "officer", lists.quarantine),
    Command("export", "officer", documents.export),
    Command("chart", "officer", documents.chart),
    Command("national", "officer", national.national),
    Command("applications", "officer", applications.queue),
    Command("summary", "officer", applications.week),
    Command("screenshots", "officer", screenshots.missing),
    Command("application", "officer", applications.show, menu=False),
    Command("confirm_application", "officer", applications.confirm, menu=False, writes=True),
    Command("return_application", "officer", applications.return_, menu=False, writes=True),
    Command("send_summary", "officer", applications.send_summary, menu=False, writes=True),
    Command("contacts", "public", info.contacts),
    Command("bind", "public", binding.bind, writes=True),
    Command("unbind", "public", binding.unbind, writes=True),
    Command("lang", "public", binding.lang, writes=True),
    Command("help", "public", binding.start),
    Command("start", "public", binding.start, menu=False),
    Command("confirm_contact", "officer", binding.confirm_contact, menu=False, writes=True),
)
BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
VIEWS: dict[str, View] = {c.name: c.view for c in COMMANDS}
MENU: tuple[Command, ...] = tuple(c for c in COMMANDS if c.menu)
PUBLIC = frozenset(c.name for c in COMMANDS if c.audience == "public")
EMITTERS = PUBLIC | {c.name for c in COMMANDS if c.audience == "emitter"}


def usable(who: Identity | None) -> frozenset[str]:
    """The commands worth suggesting to this reader: none it would only be refused."""
    if who is None:
        return PUBLIC
    return frozenset(BY_NAME) if who.role == "officer" else EMITTERS


def is_slow(command: str, who: Identity | None) -> bool:
    """Whether answering may take long: an officer's views read whole provinces (a chart, weeks of them),
    and a write may wait for the database. Everything else reads one chat's or one unit's rows."""
    found = BY_NAME.get(command)
    return (found is not None and found.writes) or (who is not None and who.role == "officer")
