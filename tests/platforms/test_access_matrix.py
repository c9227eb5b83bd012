"""The access matrix (tests/reliability/test_access_matrix.py) on DingTalk and Feishu, at the wire.

Each reader of the Telegram matrix (the unbound user, an emitter of each province, each province's officer
and a national one) is a DingTalk staffId and a Feishu open_id, bound with storage.access. Every probe is
pushed as that user through the loopback gateway, every choice the platform offers is pressed the way it
is pressed there (DingTalk: the number its dtmd:// link sends; Feishu: a card.action.trigger callback),
and everything the bot sent back — replies, robot messages, cards, uploaded files — is judged as shown to
the user the platform delivered it to.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

import aiohttp
import pytest
from pydantic import SecretStr

from bot.chat.peer import Peer, Platform
from bot.chat.reply import Reply
from bot.chats import answering
from bot.config import DingTalkConfig, FeishuConfig, Settings
from bot.context import AppContext
from bot.dingtalk import render as dingtalk_render
from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.chat import DingTalkChat
from bot.feishu import render as feishu_render
from bot.feishu.api import FeishuApi
from bot.feishu.chat import FeishuChat
from storage import access
from storage.engine import session_scope
from tests.platforms import dingtalk_server, feishu_server
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.helpers import eventually
from tests.reliability.harness import story_mail
from tests.reliability.scope import NOW, Reader, Verdict, World, build_world, workbook_text
from tests.reliability.test_access_matrix import assert_each_saw_its_own, chat_readers, probes

GUARD_S = 60.0  # a guard against a hung answer, not a measurement
CHOICE = re.compile(r"\(dtmd://dingtalkclient/sendMessage\?content=([^)\s]+)\)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("access")
    built = build_world(folder, story_mail(folder / "mail"))
    yield built
    built.engine.dispose()


class AtTheWorldsInstant(AppContext):
    """The chat core answering at the instant the world was built for, as the Telegram matrix's clock."""

    def now(self) -> datetime:
        return NOW


@dataclass(frozen=True)
class Shown:
    """One message as its user sees it, and the choices it offers (what pressing one sends)."""

    text: str
    choices: tuple[str, ...] = ()


def file_text(file: tuple[str, bytes] | None) -> str:
    if file is None:
        return ""
    name, data = file
    return "\n".join([name, workbook_text(data) if name.endswith(".xlsx") else ""])


def dingtalk_shown(item: dingtalk_server.Delivered) -> Shown:
    if item.kind == "webhook":
        text = item.body["markdown"]["text"]
        return Shown(text, tuple(unquote(n) for n in CHOICE.findall(text)))
    param = json.dumps(item.body["msgParam"], ensure_ascii=False)
    return Shown("\n".join([param, file_text(item.file)]))


def feishu_shown(item: feishu_server.Delivered) -> Shown:
    content = item.content
    if item.msg_type != "interactive":
        return Shown("\n".join([json.dumps(content, ensure_ascii=False), file_text(item.file)]))
    buttons = [a for e in content["elements"] if e["tag"] == "action" for a in e["actions"]]
    data = tuple(b["value"]["data"] for b in buttons)
    text = [e["content"] for e in content["elements"] if e["tag"] == "markdown"]
    return Shown("\n".join([*text, *(f"{b['text']['content']} {b['value']['data']}" for b in buttons)]), data)


class Counted:
    """The chat core's answers (bot.chats.answering), counted per user: how many were made, and how many
    messages the platform carries for them; a user's exchange is over when all of these have arrived.
    The buttons of each user's last answer are kept too: what a numbered choice on DingTalk presses, as
    the console's `choices` (its wire shows the labels only)."""

    def __init__(self, ctx: AppContext, messages: Callable[[Reply], int]) -> None:
        self._answer, self._press = answering(ctx)
        self._messages = messages
        self.answers: Counter[str] = Counter()
        self.expected: Counter[str] = Counter()
        self.buttons: dict[str, tuple[str, ...]] = {}  # user → the data of the last answer's buttons
        self._lock = threading.Lock()

    def answer(self, peer: Peer, text: str) -> Reply:
        return self._counted(peer, self._answer(peer, text))

    def press(self, peer: Peer, data: str) -> Reply:
        return self._counted(peer, self._press(peer, data))

    def _counted(self, peer: Peer, reply: Reply) -> Reply:
        with self._lock:
            self.answers[peer.id] += 1
            self.expected[peer.id] += self._messages(reply)
            self.buttons[peer.id] = tuple(b.data for row in reply.keyboard for b in row)
        return reply

    def all_there(self, user: str, asked: int, delivered: int) -> bool:
        """Whether `asked` answers were made to `user` and all their messages are among `delivered`."""
        with self._lock:  # the two counts together: one answer's messages are counted with it
            return self.answers[user] == asked and delivered == self.expected[user]


def dingtalk_messages(reply: Reply) -> int:
    buttons = [b for row in reply.keyboard for b in row]
    return len(dingtalk_render.webhook_bodies(reply, buttons)) + (reply.attachment is not None)


def feishu_messages(reply: Reply) -> int:
    return len(feishu_render.messages(reply)) + (reply.attachment is not None)


@dataclass
class Wire:
    """One platform at the wire, as its users meet it."""

    say: Callable[[str, str], object]  # (user, text): a text message to the bot
    press: Callable[[str, str], object]  # (user, choice): a choice pressed
    shown: Callable[[str, int], list[Shown]]  # (user, start): what the bot sent the user from `start` on
    count: Callable[[str], int]  # how many messages the bot sent the user so far
    lasting: bool  # a choice stays pressable (a card's button), or only the last message's (a number)


async def converse(verdict: Verdict, wire: Wire, counted: Counted, reader: Reader, user: str) -> None:
    """Every probe typed as `user`, and every choice offered pressed; each answer judged."""
    asked = 0

    async def exchange(act: Callable[[str, str], object], text: str) -> list[Shown]:
        nonlocal asked
        before = wire.count(user)
        await asyncio.to_thread(act, user, text)
        asked += 1
        deadline = asyncio.get_running_loop().time() + GUARD_S
        while not counted.all_there(user, asked, wire.count(user)):
            assert asyncio.get_running_loop().time() < deadline, (
                f"{reader.label} after {text!r}: {counted.answers[user]} answers of {asked} asked, "
                f"{wire.count(user)} messages of {counted.expected[user]}"
            )
            await asyncio.sleep(0.01)
        return wire.shown(user, before)

    def judge(shown: list[Shown], typed: list[str]) -> list[str]:
        verdict.judge(reader, "\n".join(s.text for s in shown), typed)
        return [choice for s in shown for choice in s.choices]

    pressed: set[str] = set()  # the buttons' data, as the console's matrix counts them
    for text in probes(verdict.world):
        offered = judge(await exchange(wire.say, text), text.split()[1:])
        if wire.lasting:  # a card's button carries its data and stays pressable
            for data in offered:
                if data not in pressed:
                    pressed.add(data)
                    judge(await exchange(wire.press, data), [])
            continue
        # a number presses a button of the last answer only: the probe is sent again when another
        # answer came in between
        buttons = counted.buttons.get(user, ())
        assert len(buttons) == len(offered), f"{reader.label}: {text!r} offered {offered} for {buttons}"
        for choice, data in zip(offered, buttons, strict=True):
            if data in pressed:
                continue
            pressed.add(data)
            if counted.buttons.get(user) != buttons:
                judge(await exchange(wire.say, text), text.split()[1:])
            judge(await exchange(wire.press, choice), [])


async def run_matrix(world: World, wire: Wire, counted: Counted, users: dict[str, Reader]) -> Verdict:
    """Every reader at once, each one message at a time."""
    verdict = Verdict(world)
    await asyncio.gather(*(converse(verdict, wire, counted, reader, u) for u, reader in users.items()))
    return verdict


def bound(world: World, platform: Platform, user_of: Callable[[Reader], str]) -> dict[str, Reader]:
    """The matrix's readers as users of `platform`, bound (or not) as each reader is."""
    users = {user_of(reader): reader for reader in chat_readers(world)}
    with session_scope(world.engine) as session:
        for user, reader in users.items():
            peer = Peer(platform, user)
            access.unbind(session, peer)
            if reader.role is not None:
                access.bind(session, peer, reader.role, NOW, unit_code=reader.unit, province=reader.province)
    return users


def context(world: World, **platform: object) -> AppContext:
    url = world.engine.url.render_as_string(hide_password=False)
    return AtTheWorldsInstant(Settings(cycle="2019-2020", database_url=url, **platform))  # type: ignore[arg-type]


def judged(verdict: Verdict, users: dict[str, Reader], sent_to: set[str]) -> None:
    assert sent_to <= set(users), "a message went to a user nobody wrote as"
    # every probe answered to every reader, and the choices pressed besides
    assert verdict.replies > len(users) * len(probes(verdict.world))
    assert verdict.leaks() == {}
    assert set(verdict.world.provinces) <= verdict.seen_by("officer *")
    assert_each_saw_its_own(verdict, list(users.values()))


async def test_dingtalk_shows_each_user_only_what_its_reader_may_see(
    world: World, dingtalk: DingTalkGateway
) -> None:
    users = bound(world, "dingtalk", lambda reader: f"staff{reader.chat_id}")
    dingtalk.users |= set(users)  # the staff the robot may send 1:1 messages (the files) to
    config = DingTalkConfig(
        client_id=dingtalk.client_id,
        client_secret=SecretStr(dingtalk.client_secret),
        openapi_url=dingtalk.url,
        oapi_url=dingtalk.url,
    )
    counted = Counted(context(world, dingtalk=config), dingtalk_messages)

    def delivered(user: str) -> list[dingtalk_server.Delivered]:
        return [d for d in dingtalk.delivered() if d.to == user]

    wire = Wire(
        say=lambda user, text: dingtalk.push(user, text),
        press=lambda user, number: dingtalk.push(user, number),  # what the dtmd:// link sends
        shown=lambda user, start: [dingtalk_shown(d) for d in delivered(user)[start:]],
        count=lambda user: len(delivered(user)),
        lasting=False,
    )
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        chat = DingTalkChat(DingTalkApi(config, http), counted.answer, counted.press, first_retry_s=0.05)
        task = asyncio.create_task(chat.run(stop))
        try:
            await asyncio.wait_for(chat.connected.wait(), GUARD_S)
            verdict = await run_matrix(world, wire, counted, users)
        finally:
            stop.set()
            await asyncio.wait_for(task, GUARD_S)
    judged(verdict, users, {d.to for d in dingtalk.delivered()})


async def test_feishu_shows_each_user_only_what_its_reader_may_see(
    world: World, feishu: FeishuPlatform
) -> None:
    users = bound(world, "feishu", lambda reader: f"ou_{reader.chat_id}")
    feishu.users |= set(users)
    config = FeishuConfig(app_id=feishu.app_id, app_secret=SecretStr(feishu.app_secret), domain=feishu.url)
    counted = Counted(context(world, feishu=config), feishu_messages)

    def delivered(user: str) -> list[feishu_server.Delivered]:
        return [d for d in feishu.delivered() if d.to == user]

    wire = Wire(
        say=lambda user, text: feishu.say(user, text),
        press=lambda user, data: feishu.click(user, data),
        shown=lambda user, start: [feishu_shown(d) for d in delivered(user)[start:]],
        count=lambda user: len(delivered(user)),
        lasting=True,
    )
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        chat = FeishuChat(FeishuApi(config, http), counted.answer, counted.press, check_s=0.1)
        task = asyncio.create_task(chat.run(stop))
        try:
            await asyncio.to_thread(eventually, lambda: chat.connected, GUARD_S)
            verdict = await run_matrix(world, wire, counted, users)
        finally:
            stop.set()
            await asyncio.wait_for(task, GUARD_S)
    judged(verdict, users, {d.to for d in feishu.delivered()})
