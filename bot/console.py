"""The console chat of `ccerbot demo`: the chat's own views, typed at a terminal.

The console is one more chat, on platform "console" (PEER): /bind, /lang and every other command act on
the database as they would from any other platform, through the same core. `/as` lets one person try each
role without binding: it stands in for the binding.
"""

from __future__ import annotations

import mimetypes
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.chat import core
from bot.chat.reply import Button, Reply, plain_text
from bot.context import AppContext
from bot.reports import province_names
from compliance.creditcode import is_valid_code, normalize_code
from storage.access import Identity
from storage.engine import session_scope
from storage.peer import Peer
from storage.units import find_unit, search_units, unit_named
from templates import render

PEER = Peer("console", "0")
QUIT = ("/quit", "/exit", "/q")


@dataclass
class Console:
    ctx: AppContext
    out: TextIO
    now: datetime | None
    files: Path
    acting_as: Identity | None = None
    choices: list[Button] = field(default_factory=list)

    def instant(self) -> datetime:
        return self.now or self.ctx.now()

    def lang(self) -> str:
        return core.identify(self.ctx.engine, PEER)[1]

    def say(self, what: str, **context: Any) -> None:
        self.out.write(render("chat_console", self.lang(), what=what, **context) + "\n")

    def handle(self, text: str) -> None:
        if text.isdigit() and self.choices:
            self.press(int(text))
        elif text == "/as" or text.startswith("/as "):
            self.act_as(text.split()[1:])
        elif text == "/whoami":
            self.whoami()
        elif text == "/at" or text.startswith("/at "):
            self.move_to(text.removeprefix("/at").strip())
        elif text == "/file" or text.startswith("/file "):
            self.send_file(text.removeprefix("/file").strip())
        else:
            self.answer(core.read_text(self.ctx, PEER, text, self.acting_as))

    def answer(self, asked: core.Asked) -> None:
        reply = core.answer(self.ctx, asked, self.instant())
        if asked.command == "unbind":
            self.acting_as = None
        self.show(reply)

    def press(self, number: int) -> None:
        if not 1 <= number <= len(self.choices):
            self.say("no_such_choice", count=len(self.choices))
            return
        self.answer(core.read_button(self.ctx, PEER, self.choices[number - 1].data, self.acting_as))

    def show(self, reply: Reply) -> None:
        self.out.write(plain_text(reply.text) + "\n")
        if reply.attachment is not None:
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / reply.attachment.filename
            path.write_bytes(reply.attachment.data)
            self.say("saved", path=str(path), kind=reply.attachment.kind)
        self.choices = [button for row in reply.keyboard for button in row]
        numbers = iter(range(1, len(self.choices) + 1))
        rows = [[(next(numbers), button.label) for button in row] for row in reply.keyboard]
        if rows:
            self.say("choices", rows=rows)

    def send_file(self, name: str) -> None:
        """/file PATH: the file as a chat platform hands it over (a document with its name and type)."""
        if not name:
            self.say("file_usage")
            return
        path = Path(name).expanduser()
        try:
            data = path.read_bytes()
        except OSError:
            self.say("no_such_file", path=name)
            return
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.show(
            core.answer_file(self.ctx, PEER, path.name, content_type, data, self.instant(), self.acting_as)
        )

    def act_as(self, words: list[str]) -> None:
        if words[:1] == ["officer"] and len(words) == 2:
            self.as_officer(words[1])
        elif len(words) == 1 and is_valid_code(words[0]):
            self.as_emitter(normalize_code(words[0]))
        elif words and words[0] != "officer":
            self.as_named(" ".join(words))
        else:
            self.say("as_usage")

    def as_named(self, name: str) -> None:
        """/as NAME: the unit known under that name, or the one unit whose name holds these words."""
        with session_scope(self.ctx.engine) as session:
            unit = unit_named(session, name)
            found = [unit] if unit is not None else search_units(session, name, None, limit=11)
            choices = [(u.code, u.name) for u in found]
        if len(choices) == 1:
            self.as_emitter(choices[0][0])
        else:
            self.say("no_such_name", name=name, units=choices[:10], more=len(choices) > 10)

    def as_emitter(self, code: str) -> None:
        with session_scope(self.ctx.engine) as session:
            unit = find_unit(session, code)
            name = unit.name if unit is not None else None
        if name is None:
            self.say("no_such_unit", code=code)
            return
        self.acting_as = Identity(PEER, "emitter", code, None, self.lang())
        self.say("as_emitter", code=code, name=name)

    def as_officer(self, province: str) -> None:
        known = province_names(self.ctx.engine, self.instant())
        if province != "*" and province not in known:
            self.say("no_such_province", province=province, known=known)
            return
        self.acting_as = Identity(PEER, "officer", None, province, self.lang())
        self.say("as_officer", province=province)

    def whoami(self) -> None:
        who = self.acting_as or core.identify(self.ctx.engine, PEER)[0]
        self.say("whoami", who=who, acting=self.acting_as is not None, at=self.instant())

    def move_to(self, text: str) -> None:
        try:
            self.now = self.ctx.instant(text) if text else None
        except ValueError:
            self.say("at_usage")
            return
        self.say("at", at=self.instant())


def console_chat(
    ctx: AppContext,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    now: datetime | None = None,
    files: Path = Path("var"),
) -> int:
    """Read lines from `stdin` until /quit or the end; answer each as the chat would, at `now`."""
    console = Console(ctx, stdout, now, files)
    console.say("welcome", at=console.instant())
    prompt = "> " if stdin.isatty() else ""
    while True:
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        if not line or line.strip() in QUIT:
            break
        if line.strip():
            console.handle(line.strip())
    console.say("bye")
    return 0
