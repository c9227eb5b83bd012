"""Files dropped into a DingTalk or Feishu 1:1 chat, through the chat core, against the loopback platforms:
a bound officer's roster is taken as the province's trusted mail and its receipt is the answer in that
chat; a bound emitter's picture is its screenshot; an unbound user's file gets the unbound answer; a file
over the cap, or one the platform no longer serves, is refused with its reason. WeCom's callbacks carry
images only: an emitter's image is its screenshot there too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.chat.files import MAX_FILE_BYTES
from bot.chat.peer import Peer
from bot.chats import answering, handing_in
from bot.config import DingTalkConfig, FeishuConfig
from bot.context import AppContext
from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.chat import DingTalkChat
from bot.feishu.api import FeishuApi
from bot.feishu.chat import FeishuChat
from bot.wecom.api import WeComApi
from bot.wecom.chat import WeComChat
from mail import intake
from storage import access, inbox
from storage.engine import session_scope
from storage.models import CancellationScreenshot, InboundMessage, Unit
from tests.intake.world import CONFIG, SD, SD_UNITS, at, roster_mail, roster_rows
from tests.mail.corpus import xlsx_bytes
from tests.platforms.dingtalk_server import DingTalkGateway
from tests.platforms.feishu_server import FeishuPlatform
from tests.platforms.helpers import PNG, started, until
from tests.platforms.test_wecom import config as wecom_config
from tests.platforms.wecom_server import WeComServer
from tests.told import settings_like

WHEN = "2021-10-26T10:00"
GUARD_S = 60.0  # a guard against a hung answer, not a measurement
TAKEN = f"按山东省可信发件人（{SD}）发来的邮件处理"
UNBOUND = "本聊天尚未绑定"
TOO_LARGE = f"超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，聊天中不接收"
FAILED = "未能从平台下载"


class AtWhen(AppContext):
    """The chat core answering inside the 2019-2020 cycle's window."""

    def now(self) -> datetime:
        return at(WHEN)


def context(engine: Engine, officer: Peer, emitter: Peer, **platform: Any) -> AppContext:
    url = engine.url.render_as_string(hide_password=False)
    ctx = AtWhen(settings_like(CONFIG, database_url=url, **platform))
    with session_scope(engine) as session:
        access.bind(session, officer, "officer", at(WHEN), province="山东省")
    # the emitter's unit arrives with the roster; bound to its code before, as a binding code would be
    with session_scope(engine) as session:
        access.bind(session, emitter, "emitter", at(WHEN), unit_code=SD_UNITS[1].code)
    return ctx


def taken(engine: Engine) -> tuple[set[str], list[tuple[str, str | None]]]:
    """The units known, and each stored message's source and outcome."""
    with session_scope(engine) as session:
        units = set(session.exec(select(Unit.code)))
        query = select(InboundMessage).options(*inbox.WITHOUT_RAW).order_by(InboundMessage.id)  # type: ignore[arg-type]
        return units, [(m.source, m.outcome) for m in session.exec(query)]


def screenshots(engine: Engine) -> list[tuple[str, bytes]]:
    with session_scope(engine) as session:
        return [(s.source, s.data) for s in session.exec(select(CancellationScreenshot))]


async def exchange(send: Callable[[], object], replies: Callable[[], list[str]]) -> str:
    """Send one file; the one reply it gets."""
    before = len(replies())
    await asyncio.to_thread(send)
    await until(lambda: len(replies()) > before, GUARD_S)
    await asyncio.sleep(0.1)  # a second reply to the same file would arrive now
    [reply] = replies()[before:]
    return reply


async def test_files_in_a_dingtalk_chat(sqlite_engine: Engine, dingtalk: DingTalkGateway) -> None:
    config = DingTalkConfig(
        client_id=dingtalk.client_id,
        client_secret=SecretStr(dingtalk.client_secret),
        openapi_url=dingtalk.url,
        oapi_url=dingtalk.url,
    )
    officer, plant = Peer("dingtalk", "officer01"), Peer("dingtalk", "staff001")
    ctx = context(sqlite_engine, officer, plant, dingtalk=config)
    roster = xlsx_bytes(roster_rows(SD_UNITS))

    def replies(to: str) -> Callable[[], list[str]]:
        return lambda: [r["markdown"]["text"] for r in dingtalk.sent_of("webhook") if r["to"] == to]

    async with aiohttp.ClientSession() as http:
        chat = DingTalkChat(DingTalkApi(config, http), *answering(ctx), handing_in(ctx), first_retry_s=0.05)
        async with started(chat, asyncio.wait_for(chat.connected.wait(), 20), stop_timeout=30):
            receipt = await exchange(
                lambda: dingtalk.push_file("officer01", roster, "山东省名录.xlsx"), replies("officer01")
            )
            shot = await exchange(lambda: dingtalk.push_file("staff001", PNG), replies("staff001"))
            stranger = await exchange(
                lambda: dingtalk.push_file("staff002", roster, "名录.xlsx"), replies("staff002")
            )
            large = b"\0" * (MAX_FILE_BYTES + 1)
            too_large = await exchange(
                lambda: dingtalk.push_file("officer01", large, "大表.xlsx"), replies("officer01")
            )
            gone = lambda: dingtalk.push_file("officer01", roster, "名录.xlsx", expired=True)  # noqa: E731
            expired = await exchange(gone, replies("officer01"))
    assert TAKEN in receipt and "已应用 3 行。" in receipt
    units, messages = taken(sqlite_engine)
    assert units == {u.code for u in SD_UNITS}
    assert messages == [("chat:dingtalk:officer01", "applied")]  # nothing else was taken
    assert "已收到" in shot and SD_UNITS[1].name in shot
    assert screenshots(sqlite_engine) == [("dingtalk:staff001", PNG)]
    assert UNBOUND in stranger
    assert TOO_LARGE in too_large and "「大表.xlsx」" in too_large
    assert FAILED in expired and "「名录.xlsx」" in expired


async def test_files_in_a_feishu_chat(sqlite_engine: Engine, feishu: FeishuPlatform) -> None:
    config = FeishuConfig(app_id=feishu.app_id, app_secret=SecretStr(feishu.app_secret), domain=feishu.url)
    feishu.users.add("ou_stranger")
    officer, plant = Peer("feishu", "ou_officer"), Peer("feishu", "ou_emitter")
    ctx = context(sqlite_engine, officer, plant, feishu=config)
    roster = xlsx_bytes(roster_rows(SD_UNITS))

    def replies(to: str) -> Callable[[], list[str]]:
        return lambda: [str(m["content"]) for m in feishu.sent_of("message") if m["receive_id"] == to]

    async with aiohttp.ClientSession() as http:
        chat = FeishuChat(FeishuApi(config, http), *answering(ctx), handing_in(ctx), check_s=0.1)
        async with started(chat, until(lambda: chat.connected), stop_timeout=30):
            receipt = await exchange(
                lambda: feishu.send_file("ou_officer", roster, "山东省名录.xlsx"), replies("ou_officer")
            )
            again = await exchange(
                lambda: feishu.send_file("ou_officer", roster, "山东省名录.xlsx"), replies("ou_officer")
            )
            shot = await exchange(lambda: feishu.send_file("ou_emitter", PNG), replies("ou_emitter"))
            stranger = await exchange(
                lambda: feishu.send_file("ou_stranger", roster, "名录.xlsx"), replies("ou_stranger")
            )
            large = b"\0" * (MAX_FILE_BYTES + 1)
            too_large = await exchange(
                lambda: feishu.send_file("ou_officer", large, "大表.xlsx"), replies("ou_officer")
            )
            gone = lambda: feishu.send_file("ou_officer", roster, "名录.xlsx", expired=True)  # noqa: E731
            expired = await exchange(gone, replies("ou_officer"))
    assert TAKEN in receipt and "已应用 3 行。" in receipt
    assert "结果：重复邮件，未再处理" in again
    units, messages = taken(sqlite_engine)
    assert units == {u.code for u in SD_UNITS}
    assert messages == [("chat:feishu:ou_officer", "applied"), ("chat:feishu:ou_officer", "duplicate")]
    assert "已收到" in shot and SD_UNITS[1].name in shot
    assert screenshots(sqlite_engine) == [("feishu:ou_emitter", PNG)]
    assert UNBOUND in stranger
    assert TOO_LARGE in too_large and "「大表.xlsx」" in too_large
    assert FAILED in expired and "「名录.xlsx」" in expired


async def test_images_in_a_wecom_chat(sqlite_engine: Engine, wecom: WeComServer) -> None:
    settings = wecom_config(wecom)
    plant = Peer("wecom", "zhangsan")
    ctx = context(sqlite_engine, Peer("wecom", "officer"), plant, wecom=settings)
    assert (
        intake.take(sqlite_engine, roster_mail(SD, SD_UNITS), "mail.eml", CONFIG, at(WHEN)).outcome
        == "applied"
    )
    url = f"http://127.0.0.1:{settings.port}{settings.path}"

    def replies(to: str) -> Callable[[], list[str]]:
        return lambda: [m["text"]["content"] for m in wecom.sent_of("message") if m["touser"] == to]

    def post(user: str, *, expired: bool = False) -> Callable[[], object]:
        return lambda: asyncio.run(wecom.post_image(url, user, PNG, expired=expired))

    async with aiohttp.ClientSession() as http:
        chat = WeComChat(WeComApi(settings, http), *answering(ctx), handing_in(ctx))
        async with started(chat, asyncio.wait_for(chat.ready.wait(), 10)):
            shot = await exchange(post("zhangsan"), replies("zhangsan"))
            stranger = await exchange(post("lisi"), replies("lisi"))
            expired = await exchange(post("zhangsan", expired=True), replies("zhangsan"))
    assert "已收到" in shot and SD_UNITS[1].name in shot
    assert screenshots(sqlite_engine) == [("wecom:zhangsan", PNG)]
    assert UNBOUND in stranger
    assert FAILED in expired
