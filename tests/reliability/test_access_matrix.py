"""No leak: every command, with every unit and province as its argument, from an unbound chat, the
emitter of each unit, the officer of each province and a national officer, on the console and in
Telegram; every button a reply offers is pressed too. A reply (text, buttons, file) may show only what
its reader may see (tests/reliability/scope.py). DingTalk and Feishu run the same matrix at the wire
(tests/platforms/test_access_matrix.py).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.chat.officer import STEPS
from bot.chat.reply import plain_text
from bot.config import Settings, TelegramConfig
from bot.console import Console
from bot.context import AppContext
from bot.telegram.app import build_application
from bot.telegram.polling import run_polling_until
from storage import access
from storage.engine import session_scope
from tests.reliability.scope import NOW, Reader, Verdict, World, build_world, seen, workbook_text
from tests.servers.botapi import BotApiServer, Call

GUARD_S = 60.0  # a guard against a hung test, not a measurement
NO_TELEGRAM_CHAT = 0  # the console is its own chat (bot.console.PEER): a reader there has no Telegram id
COMMANDS = (
    "status",
    "deadlines",
    "overview",
    "pending",
    "anomalies",
    "unmatched",
    "quarantine",
    "export",
    "chart",
    "national",
    "contacts",
)
REPLIES = ("sendMessage", "editMessageText", "sendDocument", "sendPhoto")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mailbox: list[bytes]) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("access"), mailbox)
    yield built
    built.engine.dispose()


def probes(world: World) -> list[str]:
    """What anyone may type: every command bare, and with every province, unit and step as argument."""
    typed = ["/start", "/help", "/unit", "状态", "进度", "截止", "hello", "/foo", "/quarantine 2"]
    typed += [f"/{command}" for command in COMMANDS]
    for province in [*world.provinces, "*"]:
        typed += [f"/{command} {province}" for command in COMMANDS if command != "chart"]
        typed += [f"/pending {province} {step}" for step in STEPS]
        typed += [f"/anomalies {province} 2", f"/pending {province} cancel_ccer 2"]
    for code in world.unit_marks:
        name = next(m for m in sorted(world.unit_marks[code], key=len) if not m.isascii())
        typed += [
            f"/unit {code}",
            f"/unit {name}",
            f"/unit {name[:2]}",
            f"/status {code}",
            f"/deadlines {code}",
        ]
    return typed


def console_as(world: World, reader: Reader, files: Path) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    ctx = AppContext(
        Settings(cycle="2019-2020", database_url=world.engine.url.render_as_string(hide_password=False))
    )
    console = Console(ctx, out, NOW, files)
    if reader.role == "emitter":
        console.handle(f"/as {reader.unit}")
    elif reader.role == "officer":
        console.handle(f"/as officer {reader.province}")
    return console, out


def console_says(console: Console, out: io.StringIO, files: Path, text: str) -> str:
    """What the console shows for one line: its text, the buttons offered, and any file it saved."""
    out.seek(0)
    out.truncate()
    before = set(files.glob("*")) if files.exists() else set()
    console.handle(text)
    shown = [out.getvalue()]
    shown += [f"{b.label} {b.data}" for b in console.choices]
    for path in (set(files.glob("*")) if files.exists() else set()) - before:
        if path.suffix == ".xlsx":
            shown.append(workbook_text(path.read_bytes()))
    return "\n".join(shown)


def test_the_console_shows_each_reader_only_what_it_may_see(world: World, tmp_path: Path) -> None:
    verdict = Verdict(world)
    for reader in world.readers():
        files = tmp_path / reader.label.replace(" ", "-").replace("*", "all")
        console, out = console_as(world, reader, files)
        pressed: set[str] = set()
        for text in probes(world):
            verdict.judge(reader, console_says(console, out, files, text), text.split()[1:])
            offered = list(console.choices)
            for number, button in enumerate(offered, 1):
                if button.data in pressed:
                    continue
                pressed.add(button.data)
                console.choices = offered
                verdict.judge(reader, console_says(console, out, files, str(number)))
    assert verdict.leaks() == {}
    assert_each_saw_its_own(verdict, world.readers())
    assert verdict.replies > 1000


def assert_each_saw_its_own(verdict: Verdict, readers: list[Reader]) -> None:
    """The check can fail: each reader does see what it may, and a national officer sees everything."""
    world = verdict.world
    assert verdict.seen_by("officer *") == world.every_mark()
    for reader in readers:
        if reader.role == "officer":
            assert verdict.seen_by(reader.label) == world.allowed(reader), f"{reader.label} misses some"
        elif reader.role == "emitter":
            assert reader.unit in verdict.seen_by(reader.label), f"{reader.label} was not shown its unit"
    assert verdict.seen_by("unbound") == set()


def test_a_console_bound_by_a_code_sees_only_what_its_binding_may(world: World, tmp_path: Path) -> None:
    """The console without /as: bound like any chat, with /bind and a one-time code."""
    province = world.provinces[0]
    with session_scope(world.engine) as session:
        plain = access.new_code(session, role="officer", province=province, now=NOW)
    console, out = console_as(world, Reader("unbound", NO_TELEGRAM_CHAT), tmp_path)
    reader = Reader(f"console officer {province}", NO_TELEGRAM_CHAT, "officer", province=province)
    try:
        assert "绑定成功" in console_says(console, out, tmp_path, f"/bind {plain}")
        verdict = Verdict(world)
        for text in probes(world):
            verdict.judge(reader, console_says(console, out, tmp_path, text), text.split()[1:])
    finally:
        console_says(console, out, tmp_path, "/unbind")
    assert verdict.leaks() == {}
    assert verdict.seen_by(reader.label) == world.allowed(reader)


# --- Telegram --------------------------------------------------------------------------------------


def crafted(world: World, reader: Reader) -> tuple[list[str], list[str]]:
    """Typed messages and pressed buttons aimed at what the reader may not see (and some it may)."""
    own = reader.province or world.unit_province.get(reader.unit or "", "")
    other = next(p for p in world.provinces if p != own)
    near = [c for c in world.units_of(own) if c != reader.unit][:1] if own != "*" else []
    strangers = world.units_of(other)[:1] + near
    typed = ["/start", "/status", "/overview", "/quarantine", f"/overview {other}", f"/pending {other}"]
    typed += [f"/unit {code}" for code in strangers] + [f"/export {other}"]
    buttons = [f"{c}|{other}" for c in ("overview", "anomalies", "unmatched", "export")]
    buttons += [f"pending|{other}|cancel_ccer", "overview|*", "quarantine"]
    buttons += [f"unit|{code}" for code in strangers]
    return typed, buttons


def shown_in(call: Call) -> str:
    text = plain_text(call.text or call.caption or "")
    markup = call.reply_markup or {}
    labels = [
        f"{b['text']} {b.get('callback_data', '')}" for row in markup.get("inline_keyboard", []) for b in row
    ]
    document = (
        workbook_text(call.file_bytes) if (call.file_name or "").endswith(".xlsx") and call.file_bytes else ""
    )
    return "\n".join([text, *labels, document])


def chat_readers(world: World) -> list[Reader]:
    """The unbound chat, an emitter of each province, each province's officer and a national one (the
    console above asks as every unit): who asks in Telegram, DingTalk and Feishu."""
    emitters = {code for province in world.provinces for code in world.units_of(province)[:1]}
    return [r for r in world.readers() if r.role != "emitter" or r.unit in emitters]


async def test_telegram_shows_each_chat_only_what_its_reader_may_see(world: World) -> None:
    readers = chat_readers(world)
    with session_scope(world.engine) as session:
        for reader in readers:
            access.unbind(session, reader.chat_id)
            if reader.role is not None:
                access.bind(
                    session, reader.chat_id, reader.role, NOW, unit_code=reader.unit, province=reader.province
                )
    said: dict[int, list[str]] = {}  # the words each chat typed (or pressed) itself
    with BotApiServer() as botapi:
        settings = Settings(
            cycle="2019-2020",
            database_url=world.engine.url.render_as_string(hide_password=False),
            telegram=TelegramConfig(
                base_url=botapi.base_url, base_file_url=botapi.base_file_url, token=SecretStr(botapi.token)
            ),
        )
        application = build_application(AppContext(settings), clock=lambda: NOW)
        stop = asyncio.Event()
        task = asyncio.create_task(run_polling_until(application, stop))
        try:
            expected: dict[int, int] = {}
            for reader in readers:
                typed, buttons = crafted(world, reader)
                said[reader.chat_id] = [w for t in typed for w in t.split()[1:]]
                said[reader.chat_id] += [w for data in buttons for w in data.split("|")[1:]]
                for text in typed:
                    botapi.push_message(reader.chat_id, text)
                for data in buttons:  # on a message the bot cannot edit: every press is answered anew
                    botapi.push_callback(reader.chat_id, data, message_id=999_999)
                expected[reader.chat_id] = len(typed) + len(buttons)
            await answered(botapi, expected)
        finally:
            stop.set()
            assert await asyncio.wait_for(task, GUARD_S) == "stopped"
        calls = [c for c in botapi.sent if c.method in REPLIES]
    by_chat = {r.chat_id: r for r in readers}
    assert {c.chat_id for c in calls} <= set(by_chat), "a reply went to a chat nobody wrote from"
    verdict = Verdict(world)
    for call in calls:
        reader = by_chat[int(call.chat_id or 0)]
        verdict.judge(reader, shown_in(call), said[reader.chat_id])
    assert verdict.leaks() == {}
    national = "\n".join(shown_in(c) for c in calls if c.chat_id == by_chat_of(readers, "officer *"))
    assert set(world.provinces) <= seen(world, national)


def by_chat_of(readers: list[Reader], label: str) -> int:
    return next(r.chat_id for r in readers if r.label == label)


async def answered(botapi: BotApiServer, expected: dict[int, int]) -> None:
    """Until every chat has had at least one reply per message or press, and nothing more is coming."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    last, still_since = -1, loop.time()
    while True:
        calls = [c for c in botapi.sent if c.method in REPLIES]
        per_chat = {chat: sum(1 for c in calls if c.chat_id == chat) for chat in expected}
        if len(calls) != last:
            last, still_since = len(calls), loop.time()
        done = all(per_chat[chat] >= n for chat, n in expected.items()) and botapi.pending_updates == 0
        if done and loop.time() - still_since > 1.0:
            return
        assert loop.time() < deadline, f"replies per chat {per_chat}, wanted {expected}"
        await asyncio.sleep(0.05)
