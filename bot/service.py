"""`ccerbot run`: the service, wired from what is configured.

Telegram (long polling or a webhook) when a token is set; intake from IMAP, or from a watched mail
folder; the scheduler, every minute (PTB's JobQueue when Telegram runs, a plain asyncio loop otherwise);
the outbox sender, for each channel that is configured. At start-up it says on stderr, one line each, what
runs and what is left out; SIGINT or SIGTERM stop it cleanly (deliveries under way are finished first).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.chats import NAMES, configured, platform_channels, start_chats
from bot.config import ConfigError, Settings
from bot.context import AppContext
from bot.inbound import stopped_within
from bot.net import http_session, proxy_url
from bot.notices.silence import silence_alerts
from bot.reminders_send import failure_reporter
from bot.scheduler import Scheduler
from bot.sender.email import EmailChannel
from bot.sender.groups import group_channels
from bot.sender.loop import Channel, Sender
from bot.sender.telegram import TelegramChannel, build_bot
from bot.telegram import app as telegram_app
from mail.imap_source import ImapIntake, ImapSettings
from mail.intake import take
from mail.silence import DEFAULT_SILENCE_H
from mail.sources import iter_paths
from storage.engine import session_scope
from templates import render

log = logging.getLogger(__name__)

TICK_S = 60.0
FOLDER_POLL_S = 10.0
SETTLE_S = 2.0  # a file written to the watched folder is taken once it has not changed for this long


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # no glibc (musl, macOS): nothing kept that way to give back
        return None


_MALLOC_TRIM = _malloc_trim()


def give_back_freed_memory() -> None:
    """A tick that wrote a deadline morning's reminders freed some 10 MB (per 10,000 units) that glibc
    keeps for the thread that freed them, a thread of the loop's pool that the sender does not use: the
    free pages go back to the system before the sender starts on the reminders."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def to_operator(line: str) -> None:
    print(f"ccerbot: {line}", file=sys.stderr, flush=True)


# --- ccerbot run -----------------------------------------------------------------------------------


def run_service(ctx: AppContext) -> int:
    return asyncio.run(_run(ctx))


async def _run(ctx: AppContext) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(ctx, stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    to_operator("已停止")
    return 0


@dataclass
class Service:
    """The parts of one running service, for tests to look at."""

    ctx: AppContext
    stop: asyncio.Event
    scheduler: Scheduler
    sender: Sender | None = None
    application: Any = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    intake: bool = False
    # Set once intake has been through the mail waiting at start-up (at once when nothing is taken in
    # here): until then the state is older than the mail, and a deadline's alerts would be false ones.
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    _ticking: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def tick(self) -> None:
        if not self.caught_up.is_set():
            return
        async with self._ticking:  # one look at the state at a time: ticks, and mail applied meanwhile
            written = await asyncio.to_thread(self._tick)
            written += await asyncio.to_thread(self._silence_alerts)
        if written and self.sender is not None:
            self.sender.wake()

    def _tick(self) -> int:
        written = self.scheduler.tick()
        if written:
            give_back_freed_memory()
        return written

    async def mail_applied(self) -> None:
        if self.caught_up.is_set():  # the start-up tick looks at the whole backlog at once
            async with self._ticking:
                await asyncio.to_thread(self.scheduler.mail_applied)
        if self.sender is not None:
            self.sender.wake()  # receipts were written too, with or without new anomalies

    def _silence_alerts(self) -> int:
        """Officers hear of an intake that has gone quiet during the cycle (only when intake runs here)."""
        if not self.intake:
            return 0
        settings, cycle = self.ctx.settings, self.ctx.cycle
        hours = settings.imap.silence_alert_h if settings.imap else DEFAULT_SILENCE_H
        with session_scope(self.ctx.engine) as session:
            return silence_alerts(
                session,
                settings,
                self.ctx.now(),
                window_opens=cycle.window_opens,
                compliance_deadline=cycle.compliance_deadline,
                silence_alert_h=hours,
                tz=cycle.tz,
            )


async def serve(
    ctx: AppContext, stop: asyncio.Event, announce: Callable[[str], None] = to_operator
) -> Service:
    """Run every configured part until `stop` is set."""
    ctx.reads_in_worker = True  # a file an officer drops into a chat is read where intake reads mail
    announce(render("cli", ctx.settings.lang, part="run_cycle", cycle=ctx.cycle, chosen=ctx.cycle_chosen))
    service = Service(ctx, stop, Scheduler(ctx.engine, ctx.settings, ctx.cycle))
    channels: dict[str, Channel] = {}
    bot = await _telegram(service, channels, announce)
    if ctx.settings.smtp is not None:
        channels["email"] = EmailChannel(ctx.settings.smtp)
        announce(f"运行：邮件发件（SMTP {ctx.settings.smtp.host}:{ctx.settings.smtp.port}）")
    else:
        announce("未运行：邮件发件（未配置 [smtp]）")
    http = _http_channels(ctx.settings, channels, announce)
    if http is not None:
        service.tasks.extend(start_chats(ctx, http, stop, announce))
    if channels:
        service.sender = Sender(ctx.engine, channels, on_failure=failure_reporter(ctx, service.alerts))
        service.tasks.append(asyncio.create_task(service.sender.run(stop), name="sender"))
    else:
        announce("未运行：发件箱发送（没有可用的渠道：提醒留在发件箱中）")
    _intake(service, announce)
    _warn_unauthenticated(ctx.settings, announce)
    _schedule(service, announce)
    try:
        await stop.wait()
    finally:
        await _shutdown(service, bot)
        if http is not None:
            await http.close()
        ctx.close_sandbox()
    return service


def _warn_unauthenticated(settings: Settings, announce: Callable[[str], None]) -> None:
    if settings.senders.authserv_id:
        announce(f"运行：发件人验证（只认 {settings.senders.authserv_id} 写下的 Authentication-Results）")
        return
    announce(
        "警告：未配置 [senders] authserv_id，发件人只凭 From 行认定："
        "任何能伪造 From 的人都能改动数据（见 README「Running it in production」）"
    )


def _http_channels(
    settings: Settings, channels: dict[str, Channel], announce: Callable[[str], None]
) -> aiohttp.ClientSession | None:
    """The group robots' and the DingTalk and Feishu apps' channels, sharing one HTTP session through the
    proxy (returned, to be closed at the end; None when none of them is configured)."""
    platforms = configured(settings)
    if not settings.groups:
        announce("未运行：群机器人（未配置 [[groups]]）")
    if not settings.groups and not platforms:
        announce("未运行：钉钉、飞书、企业微信应用（未配置 [dingtalk]、[feishu] 或 [wecom] 及其密钥）")
        return None
    http = http_session(settings)
    groups = group_channels(settings, http) if settings.groups else {}
    channels.update(groups)
    if settings.groups:
        kinds = "、".join(sorted({g.kind for g in settings.groups}))
        announce(f"运行：群机器人发件（{len(settings.groups)} 个：{kinds}，按各平台限速）")
    channels.update(platform_channels(settings, http))
    for platform in platforms:
        name = NAMES[platform]
        announce(f"运行：{name}应用发件（单聊消息，按平台限速）")
    if settings.proxy:
        where = urlsplit(settings.proxy)  # never its user and password
        announce(f"运行：出站 HTTP 经代理 {where.hostname}:{where.port or ''}")
    return http


async def _shutdown(service: Service, bot: Any) -> None:
    results = await asyncio.gather(*service.tasks, return_exceptions=True)
    for task, result in zip(service.tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("%s ended with %s: %s", task.get_name(), type(result).__name__, result)
    if bot is not None:
        await bot.shutdown()


# --- Telegram --------------------------------------------------------------------------------------


async def _telegram(service: Service, channels: dict[str, Channel], announce: Callable[[str], None]) -> Any:
    """Start what Telegram needs; the bot the sender uses (None when Telegram is not configured).

    The sender has its own bot (sharing the chat's rate limiter), so that the chat stopping (another
    process polls the same token) leaves the sender running.
    """
    config = service.ctx.settings.telegram
    if config is None or config.token is None:
        announce("未运行：Telegram 聊天与发件（未配置 [telegram] 或 CCERBOT_TELEGRAM_TOKEN）")
        return None
    service.application = telegram_app.build_application(service.ctx)
    limiter = getattr(getattr(service.application, "bot", None), "rate_limiter", None)
    bot = build_bot(config, limiter, proxy=proxy_url(service.ctx.settings))
    if not await _initialise(bot, service.stop):
        return None
    channels["telegram"] = TelegramChannel(bot)
    announce("运行：Telegram 发件（全局限速，每个聊天每秒至多 1 条）")
    mode = f"webhook {config.webhook_url}" if config.webhook_url else "长轮询"
    announce(f"运行：Telegram 聊天（{mode}）")
    service.tasks.append(asyncio.create_task(_chat(service, announce), name="telegram"))
    return bot


async def _chat(service: Service, announce: Callable[[str], None]) -> None:
    try:
        outcome: str = await telegram_app.run_until(service.application, service.stop)
    except Exception:  # the chat failing must not take reminders down with it
        log.exception("the Telegram chat stopped")
        outcome = "failed"
    if service.stop.is_set():
        return
    # The JobQueue stopped with the application: the schedule goes on without it.
    announce(f"Telegram 聊天已停止（{outcome}）；提醒调度与发件继续运行")
    service.application = None
    await _tick_loop(service)


async def _initialise(bot: Any, stop: asyncio.Event) -> bool:
    """Bot.initialize, which asks getMe: a network that is down at start-up is waited for."""
    from telegram.error import InvalidToken, NetworkError

    delay = 1.0
    while True:
        try:
            await bot.initialize()
            return True
        except InvalidToken:
            raise ConfigError(key="token_refused") from None
        except NetworkError as error:
            log.warning("Telegram not reachable (%s); again in %.0f s", error, delay)
        if await stopped_within(stop, delay):
            return False
        delay = min(delay * 2, 300.0)


# --- intake ----------------------------------------------------------------------------------------


def _intake(service: Service, announce: Callable[[str], None]) -> None:
    settings = service.ctx.settings
    if settings.imap is not None:
        service.intake = True
        service.tasks.append(asyncio.create_task(_imap(service), name="imap"))
        imap = settings.imap
        announce(f"运行：IMAP 收件（{imap.user}@{imap.host}:{imap.port}/{imap.folder}）")
    elif settings.mail_folder:
        service.tasks.append(
            asyncio.create_task(_watch_folder(service, Path(settings.mail_folder)), name="folder")
        )
        announce(f"运行：监视邮件文件夹 {settings.mail_folder}")
    else:
        announce("未运行：收件（未配置 [imap] 或 mail_folder）")
        service.caught_up.set()
        return
    # the reading worker imports its readers while the rest starts: the first message does not wait
    service.tasks.append(asyncio.create_task(asyncio.to_thread(service.ctx.sandbox.warm), name="reader"))
    limits = f"{settings.read_memory_mb} MB，{settings.read_timeout_s:g} 秒"
    announce(f"运行：邮件在独立的工作进程中读取（每封至多 {limits}）")


def _imap(service: Service) -> Coroutine[Any, Any, None]:
    ctx = service.ctx
    intake = ImapIntake(imap_settings(ctx.settings))
    return intake.run(
        ctx.engine,
        ctx.intake_config(sandboxed=True),
        service.stop,
        ctx.now,
        _on_outcome(service),
        caught_up=service.caught_up,
    )


def imap_settings(settings: Settings) -> ImapSettings:
    """What the IMAP intake needs, from the [imap] section."""
    assert settings.imap is not None
    return ImapSettings.from_section(settings.imap)


def _on_outcome(service: Service) -> Callable[[Any], None]:
    pending: set[asyncio.Task[None]] = set()

    def told(outcome: Any) -> None:
        task = asyncio.create_task(service.mail_applied())
        pending.add(task)  # keep a reference until it is done
        task.add_done_callback(pending.discard)

    return told


async def _watch_folder(service: Service, folder: Path) -> None:
    """Take in every new file of a folder (or Maildir), now and every FOLDER_POLL_S."""
    seen: dict[Path, tuple[float, int]] = {}
    while not service.stop.is_set():
        try:
            taken = await asyncio.to_thread(_take_folder, service.ctx, folder, seen, service.stop)
        except Exception:  # a database outage or an unreadable folder must not end intake
            log.exception("mail folder %s: intake failed", folder)
            taken = 0
        service.caught_up.set()  # the first pass is over, whether or not it went through
        if taken:
            await service.mail_applied()
        if await stopped_within(service.stop, FOLDER_POLL_S):
            return


def _take_folder(
    ctx: AppContext, folder: Path, seen: dict[Path, tuple[float, int]], stop: asyncio.Event
) -> int:
    """Take the folder's new files, one by one, until stopped: a stop waits for one message at most."""
    taken = 0
    settled_before = time.time() - SETTLE_S
    for path in iter_paths([str(folder)]) if folder.is_dir() else []:
        stat = path.stat()
        if seen.get(path) == (stat.st_mtime, stat.st_size) or stat.st_mtime > settled_before:
            continue  # taken already, or still being written
        if stop.is_set():
            break
        take(ctx.engine, path.read_bytes(), str(path), ctx.intake_config(sandboxed=True), ctx.now())
        seen[path] = (stat.st_mtime, stat.st_size)
        taken += 1
    return taken


# --- scheduler -------------------------------------------------------------------------------------


def _schedule(service: Service, announce: Callable[[str], None]) -> None:
    queue = getattr(service.application, "job_queue", None)
    if queue is not None:

        async def job(context: Any) -> None:
            await service.tick()

        # APScheduler never runs a repeating job's first run at once: the start-up tick is a task
        queue.run_repeating(job, interval=TICK_S, first=TICK_S, name="ccerbot-scheduler")
        service.tasks.append(asyncio.create_task(_start_up_tick(service), name="start-up tick"))
        announce(f"运行：提醒调度（PTB JobQueue，每分钟；{_AT_START}）")
        return
    service.tasks.append(asyncio.create_task(_tick_loop(service), name="scheduler"))
    announce(f"运行：提醒调度（每分钟；{_AT_START}）")


_AT_START = "启动时先收完积压的邮件，再补写今天已到时间的提醒"


async def _start_up_tick(service: Service) -> None:
    if await _first_of(service.caught_up, service.stop):
        await _tick_once(service)


async def _tick_loop(service: Service) -> None:
    if not await _first_of(service.caught_up, service.stop):
        return
    while not service.stop.is_set():
        await _tick_once(service)
        if await stopped_within(service.stop, TICK_S):
            return


async def _tick_once(service: Service) -> None:
    try:
        await service.tick()
    except Exception:  # one failed tick (a database outage) must not end the schedule
        log.exception("scheduler tick failed")


async def _first_of(awaited: asyncio.Event, stop: asyncio.Event) -> bool:
    """Wait for `awaited`; False when `stop` comes first."""
    waits = [asyncio.ensure_future(awaited.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return awaited.is_set() and not stop.is_set()
