"""The chat's answers, independent of the transport: one function a command, each taking a Query and
returning a Reply. Telegram handlers and the console chat both call `ask`, so they answer alike."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.chat.reply import Reply
from bot.telegram import binding, documents, emitter, info, keyboards, lists, national, officer
from bot.telegram.base import Query, View, say
from bot.telegram.phrases import command_for, nearest_command
from compliance.cycle import Cycle
from storage.access import Identity
from storage.models import ChatBinding, ChatPreference


def status(q: Query) -> Reply:
    """An emitter's unit; for an officer, the province's overview (the same question, asked by an officer)."""
    if q.identity is not None and q.identity.role == "officer":
        return officer.overview(q)
    return emitter.status(q)


PUBLIC = frozenset({"start", "help", "bind", "unbind", "lang", "contacts"})
EMITTERS = PUBLIC | {"status", "deadlines"}


def usable(who: Identity | None) -> frozenset[str]:
    """The commands worth suggesting to this reader: none it would only be refused."""
    if who is None:
        return PUBLIC
    return frozenset(VIEWS) if who.role == "officer" else EMITTERS


def unknown(q: Query) -> Reply:
    """Not understood: the command a mistyped one most likely meant, with a button for it; else a hint."""
    typed = q.args[0] if q.args else ""
    meant = nearest_command(typed, usable(q.identity)) if typed.startswith("/") or typed.isascii() else None
    keyboard = keyboards.rows([keyboards.button("", q.lang, meant, text=f"/{meant}")]) if meant else ()
    return say("chat_unknown", q, keyboard, bound=q.identity is not None, typed=typed, meant=meant)


VIEWS: dict[str, View] = {
    "start": binding.start,
    "help": binding.start,
    "bind": binding.bind,
    "unbind": binding.unbind,
    "confirm_contact": binding.confirm_contact,
    "lang": binding.lang,
    "status": status,
    "deadlines": emitter.deadlines,
    "overview": officer.overview,
    "pending": officer.pending,
    "unit": officer.unit,
    "anomalies": lists.anomalies,
    "unmatched": lists.unmatched,
    "quarantine": lists.quarantine,
    "export": documents.export,
    "chart": documents.chart,
    "national": national.national,
    "contacts": info.contacts,
}
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def read_text(text: str) -> tuple[str, tuple[str, ...]]:
    """'/pending@bot cancel_ccer' -> ('pending', ('cancel_ccer',)); '我还要注销多少？' -> ('status', ());
    words that mean no command -> ('unknown', (the words,))."""
    stripped = text.strip()
    found = _COMMAND.match(stripped)
    if found:
        return found.group(1).lower(), tuple((found.group(2) or "").split())
    command = command_for(stripped)
    return (command, ()) if command else ("unknown", (stripped,))


# What storage.access.identity and language read, as two prepared statements: every message asks it.
_BINDING = select(
    col(ChatBinding.role), col(ChatBinding.unit_code), col(ChatBinding.province), col(ChatBinding.lang)
).where(col(ChatBinding.chat_id) == bindparam("chat"))
_PREFERENCE = select(col(ChatPreference.lang)).where(col(ChatPreference.chat_id) == bindparam("chat"))


def identify(engine: Engine, chat_id: int) -> tuple[Identity | None, str]:
    """The chat's binding (None when unbound) and its language."""
    with engine.connect() as connection:
        bound = connection.execute(_BINDING, {"chat": chat_id}).first()
        if bound is not None:
            role, unit_code, province, lang = bound
            return Identity(chat_id, role, unit_code, province, lang), lang
        preferred = connection.execute(_PREFERENCE, {"chat": chat_id}).scalar()
    return None, preferred or "zh"


def respond(
    engine: Engine,
    cycle: Cycle,
    chat_id: int,
    command: str,
    args: tuple[str, ...],
    now: datetime,
    who: Identity | None,
    lang: str,
    email_binding: bool = True,
) -> Reply:
    """Answer one command from one chat whose identity and language are known."""
    view = VIEWS.get(command)
    if view is None:  # a command the bot does not have: what was typed, for a suggestion
        view, args = unknown, args if command == "unknown" else (f"/{command}",)
    return view(
        Query(engine, cycle, chat_id, who, tuple(args), now.astimezone(cycle.tz), lang, email_binding)
    )


def ask(
    engine: Engine,
    cycle: Cycle,
    chat_id: int,
    command: str,
    args: tuple[str, ...],
    now: datetime,
    acting_as: Identity | None = None,
) -> Reply:
    """Answer one command from one chat at `now`; `acting_as` replaces the chat's binding (console chat)."""
    who, lang = identify(engine, chat_id)
    return respond(engine, cycle, chat_id, command, args, now, acting_as or who, lang)


WRITES = frozenset({"bind", "unbind", "lang", "confirm_contact"})


def needs_a_thread(command: str, who: Identity | None) -> bool:
    """Whether answering may take long: an officer's views read whole provinces (a chart, weeks of them),
    and a write may wait for the database. Everything else reads one chat's or one unit's rows."""
    return command in WRITES or (who is not None and who.role == "officer")
