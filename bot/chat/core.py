"""The one entry point of every chat adapter (Telegram, the console, DingTalk, Feishu…): a text or a button
press from a Peer, answered as a Reply. An adapter only carries bytes: it never picks a view, reads a
binding or decides who may see what.

    reply = answer_text(ctx, Peer("feishu", open_id), "/status", now)
    reply = answer_button(ctx, peer, button.data, now)

`is_slow` tells an adapter whose loop must stay responsive (Telegram's, Feishu's 3 s ack) to answer in a
worker thread; `read_text`/`read_button` and `answer` do the same in two steps, identifying the chat once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.chat import commands, files, keyboards
from bot.chat.base import Query
from bot.chat.phrases import command_for
from bot.chat.reply import Reply
from bot.config import Settings
from bot.context import AppContext
from compliance.cycle import Cycle
from mail.intake import IntakeConfig
from storage.access import Identity
from storage.models import ChatBinding, ChatPreference
from storage.peer import Peer, as_peer

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Asked:
    """One question, read and its chat identified: what `answer` needs, and whether it may take long."""

    peer: Peer
    command: str
    args: tuple[str, ...]
    who: Identity | None  # the chat's binding, or the identity it acts as (the console's /as)
    lang: str

    @property
    def slow(self) -> bool:
        return commands.is_slow(self.command, self.who)


def parse_text(text: str) -> tuple[str, tuple[str, ...]]:
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
).where(
    and_(col(ChatBinding.platform) == bindparam("platform"), col(ChatBinding.chat_id) == bindparam("chat"))
)
_PREFERENCE = select(col(ChatPreference.lang)).where(
    and_(
        col(ChatPreference.platform) == bindparam("platform"),
        col(ChatPreference.chat_id) == bindparam("chat"),
    )
)


def identify(engine: Engine, chat: Peer | int) -> tuple[Identity | None, str]:
    """The chat's binding (None when unbound) and its language."""
    peer = as_peer(chat)
    key = {"platform": peer.platform, "chat": peer.id}
    with engine.connect() as connection:
        bound = connection.execute(_BINDING, key).first()
        if bound is not None:
            role, unit_code, province, lang = bound
            return Identity(peer, role, unit_code, province, lang), lang
        preferred = connection.execute(_PREFERENCE, key).scalar()
    return None, preferred or "zh"


def read_text(ctx: AppContext, peer: Peer, text: str, acting_as: Identity | None = None) -> Asked:
    command, args = parse_text(text)
    return _asked(ctx.engine, peer, command, args, acting_as)


def read_button(ctx: AppContext, peer: Peer, data: str, acting_as: Identity | None = None) -> Asked:
    command, args = keyboards.parse(data)
    return _asked(ctx.engine, peer, command, args, acting_as)


def _asked(
    engine: Engine, peer: Peer, command: str, args: tuple[str, ...], acting_as: Identity | None
) -> Asked:
    who, lang = identify(engine, peer)
    return Asked(peer, command, args, acting_as or who, lang)


def answer(ctx: AppContext, asked: Asked, now: datetime) -> Reply:
    mail = ctx.settings.smtp is not None  # without SMTP no binding code can be mailed
    return respond(
        ctx.engine,
        ctx.cycle,
        asked.peer,
        asked.command,
        asked.args,
        now,
        asked.who,
        asked.lang,
        mail,
        settings=ctx.settings,
    )


def answer_text(
    ctx: AppContext, peer: Peer, text: str, now: datetime, acting_as: Identity | None = None
) -> Reply:
    """Answer what a person typed: '/command args', or words the phrases know ('状态', '还差多少')."""
    return answer(ctx, read_text(ctx, peer, text, acting_as), now)


def answer_button(
    ctx: AppContext, peer: Peer, data: str, now: datetime, acting_as: Identity | None = None
) -> Reply:
    """Answer a press on a Button (its `data`, "command|arg|arg"): checked by its view like typed words."""
    return answer(ctx, read_button(ctx, peer, data, acting_as), now)


def answer_file(
    ctx: AppContext,
    peer: Peer,
    filename: str | None,
    content_type: str,
    data: bytes,
    now: datetime,
    acting_as: Identity | None = None,
    unfetched: files.Unfetched | None = None,
) -> Reply:
    """A file sent in chat (its bytes, however the platform carried them): a bound officer's roster,
    summary or list, taken as the province's mail; a bound emitter's stamped screenshot of its
    cancellation. `unfetched`: the adapter could not have its bytes (too large, a failed download), and
    `data` is empty. It writes: answer it off an adapter's event loop."""
    who, lang = identify(ctx.engine, peer)
    local = now.astimezone(ctx.cycle.tz)
    mail = ctx.settings.smtp is not None
    q = Query(ctx.engine, ctx.cycle, peer, acting_as or who, (), local, lang, mail, ctx.settings)

    def intake() -> IntakeConfig:
        return ctx.intake_config(sandboxed=ctx.reads_in_worker)

    return files.received_file(q, intake, filename, content_type, data, unfetched)


def is_slow(ctx: AppContext, peer: Peer, text_or_data: str, *, button: bool = False) -> bool:
    """Whether the answer may take long (see commands.is_slow): then answer it off the event loop."""
    read = read_button if button else read_text
    return read(ctx, peer, text_or_data).slow


def respond(
    engine: Engine,
    cycle: Cycle,
    chat: Peer | int,
    command: str,
    args: tuple[str, ...],
    now: datetime,
    who: Identity | None,
    lang: str,
    email_binding: bool = True,
    settings: Settings | None = None,
) -> Reply:
    """Answer one command from one chat whose identity and language are known."""
    found = commands.BY_NAME.get(command)
    view = found.view if found is not None else commands.unknown
    if found is None and command != "unknown":  # a command the bot does not have: what was typed
        args = (f"/{command}",)
    peer = as_peer(chat)
    local = now.astimezone(cycle.tz)
    return view(Query(engine, cycle, peer, who, tuple(args), local, lang, email_binding, settings))


def ask(
    engine: Engine,
    cycle: Cycle,
    chat: Peer | int,
    command: str,
    args: tuple[str, ...],
    now: datetime,
    acting_as: Identity | None = None,
) -> Reply:
    """Answer one command from one chat at `now`; `acting_as` replaces the chat's binding (console chat)."""
    who, lang = identify(engine, chat)
    return respond(engine, cycle, chat, command, args, now, acting_as or who, lang)
