"""`ccerbot run`: the service, wired from what is configured.

Telegram (long polling or a webhook) when a token is set; intake from IMAP, or from a watched mail
folder; the scheduler, every minute (PTB's JobQueue when Telegram runs, a plain asyncio loop otherwise);
the outbox sender, for each channel that is configured. At start-up it says on stderr, one line each, what
runs and what is left out; SIGINT or SIGTERM stop it cleanly (deliveries under way are finished first).

Also `reminders --send`: write what is due to the outbox, then send until those items are settled.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from bot.chats import NAMES, configured, platform_channels, start_chats
from bot.config import ConfigError, Settings
from bot.context import AppContext
from bot.net import http_session, proxy_url
from bot.scheduler import Scheduler, enqueue_delivery_failed, enqueue_due
from bot.sender.email import EmailChannel
from bot.sender.groups import group_channels
from bot.sender.loop import Channel, Sender
from bot.sender.telegram import TelegramChannel, build_bot
from storage.models import OutboxItem
from templates import render

if TYPE_CHECKING:
    from mail.imap_source import ImapSettings

log = logging.getLogger(__name__)

TICK_S = 60.0
FOLDER_POLL_S = 10.0
SETTLE_S = 2.0  # a file written to the watched folder is taken once it has not changed for this long


def say(line: str) -> None:
    print(f"ccerbot: {line}", file=sys.stderr, flush=True)


# --- reminders --send ------------------------------------------------------------------------------


def send_due(ctx: AppContext, at: datetime) -> tuple[dict[str, Any], str]:
    """Write what is due at `at` into the outbox and deliver it; a summary (JSON and text)."""
    return asyncio.run(_send_due(ctx, at))


async def _send_due(ctx: AppContext, at: datetime) -> tuple[dict[str, Any], str]:
    engine, settings, cycle = ctx.engine, ctx.settings, ctx.cycle
    enqueued = await asyncio.to_thread(enqueue_due, engine, settings, cycle, at, ctx.now())
    alerts: list[str] = []
    async with standalone_channels(settings) as channels:
        sender = Sender(engine, channels, on_failure=_failure_reporter(ctx, alerts))
        states = await sender.run_until_settled(enqueued.keys)
        states.update(await sender.run_until_settled(alerts))
    due_states = {key: states.get(key, "pending") for key in enqueued.keys}
    summary = _summary(at, enqueued.keys, enqueued.new, due_states, set(channels), len(alerts))
    text = render("reminder_summary", settings.lang, **summary)
    return {**summary, "at": at.isoformat(), "items": due_states, "alerts": alerts}, text


def _summary(
    at: datetime, keys: list[str], new: int, states: dict[str, str], channels: set[str], alerts: int
) -> dict[str, Any]:
    by_channel: dict[str, int] = {}
    for key in keys:
        by_channel[_channel_of(key)] = by_channel.get(_channel_of(key), 0) + 1
    counted = {s: sum(1 for v in states.values() if v == s) for s in ("sent", "failed")}
    idle = sorted(c for c in by_channel if c not in channels)
    waiting = len(keys) - counted["sent"] - counted["failed"] - sum(by_channel[c] for c in idle)
    return {
        "at": at,
        "total": len(keys),
        "new": new,
        "states": counted,
        "waiting": waiting,
        "idle_channels": idle,
        "by_channel": by_channel,
        "alerts": alerts,
    }


def _channel_of(key: str) -> str:
    return key.split("|", 2)[1].split(":", 1)[0]


@asynccontextmanager
async def standalone_channels(settings: Settings) -> AsyncIterator[dict[str, Channel]]:
    """The channels `reminders --send` can use: a bot that only sends, and SMTP."""
    channels: dict[str, Channel] = {}
    if settings.smtp is not None:
        channels["email"] = EmailChannel(settings.smtp)
    async with http_session(settings) as http:
        groups = group_channels(settings, http) if settings.groups else {}
        channels.update(groups)
        channels.update(platform_channels(settings, http, groups))
        if settings.telegram is None or settings.telegram.token is None:
            yield channels
            return
        bot = build_bot(settings.telegram, proxy=proxy_url(settings))
        async with bot:
            channels["telegram"] = TelegramChannel(bot)
            yield channels


def _failure_reporter(ctx: AppContext, written: list[str]) -> Callable[[OutboxItem, str], Awaitable[None]]:
    async def report(item: OutboxItem, reason: str) -> None:
        keys = await asyncio.to_thread(
            enqueue_delivery_failed, ctx.engine, ctx.settings, ctx.cycle, item, reason, ctx.now()
        )
        written.extend(keys)

    return report


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
    say("已停止")
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

    async def tick(self) -> None:
        written = await asyncio.to_thread(self.scheduler.tick)
        written += await asyncio.to_thread(self._silence_alerts)
        if written and self.sender is not None:
            self.sender.wake()

    async def mail_applied(self) -> None:
        await asyncio.to_thread(self.scheduler.mail_applied)
        if self.sender is not None:
            self.sender.wake()  # receipts were written too, with or without new anomalies

    def _silence_alerts(self) -> int:
        """Officers hear of an intake that has gone quiet during the cycle (only when intake runs here)."""
        from mail.silence import DEFAULT_SILENCE_H, enqueue_silence_alerts
        from storage.engine import session_scope

        if not self.intake:
            return 0
        settings, cycle = self.ctx.settings, self.ctx.cycle
        hours = settings.imap.silence_alert_h if settings.imap else DEFAULT_SILENCE_H
        with session_scope(self.ctx.engine) as session:
            return enqueue_silence_alerts(
                session,
                self.ctx.now(),
                window_opens=cycle.window_opens,
                compliance_deadline=cycle.compliance_deadline,
                silence_alert_h=hours,
                tz=cycle.tz,
            )


async def serve(ctx: AppContext, stop: asyncio.Event, announce: Callable[[str], None] = say) -> Service:
    """Run every configured part until `stop` is set."""
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
        service.sender = Sender(ctx.engine, channels, on_failure=_failure_reporter(ctx, service.alerts))
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
    channels.update(platform_channels(settings, http, groups))
    for platform in platforms:
        name = NAMES[platform]
        announce(f"运行：{name}发件（单聊消息与该平台的群机器人，按平台限速）")
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
    app_module = _optional("bot.telegram.app")
    if app_module is not None:
        service.application = app_module.build_application(service.ctx)
    limiter = getattr(getattr(service.application, "bot", None), "rate_limiter", None)
    bot = build_bot(config, limiter, proxy=proxy_url(service.ctx.settings))
    if not await _initialise(bot, service.stop):
        return None
    channels["telegram"] = TelegramChannel(bot)
    announce("运行：Telegram 发件（全局限速，每个聊天每秒至多 1 条）")
    if service.application is None:
        announce("未运行：Telegram 聊天（处理程序不可用），只发送提醒")
        return bot
    mode = f"webhook {config.webhook_url}" if config.webhook_url else "长轮询"
    announce(f"运行：Telegram 聊天（{mode}）")
    runner = getattr(app_module, "run_until", None) or app_module.run_polling_until
    service.tasks.append(asyncio.create_task(_chat(service, runner, announce), name="telegram"))
    return bot


async def _chat(service: Service, runner: Any, announce: Callable[[str], None]) -> None:
    try:
        outcome = await runner(service.application, service.stop)
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
        if await _stopped_within(stop, delay):
            return False
        delay = min(delay * 2, 300.0)


# --- intake ----------------------------------------------------------------------------------------


# Reading mail in a worker process (mail/sandbox.py) hangs the service's intake: it is off until mended.
READ_IN_WORKER = False


def _intake(service: Service, announce: Callable[[str], None]) -> None:
    settings = service.ctx.settings
    if settings.imap is not None and _optional("mail.imap_source") is not None:
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


def _imap(service: Service) -> Coroutine[Any, Any, None]:
    from mail.imap_source import ImapIntake

    ctx = service.ctx
    intake = ImapIntake(imap_settings(ctx.settings))
    return intake.run(
        ctx.engine, ctx.intake_config(sandboxed=READ_IN_WORKER), service.stop, ctx.now, _on_outcome(service)
    )


def imap_settings(settings: Settings) -> ImapSettings:
    """What the IMAP intake needs, from the [imap] section."""
    from mail.imap_source import ImapSettings

    imap = settings.imap
    assert imap is not None
    return ImapSettings(
        host=imap.host,
        port=imap.port,
        security=imap.security,
        user=imap.user,
        password=imap.password.get_secret_value() if imap.password else "",
        folder=imap.folder,
        processed=imap.processed_folder,
        quarantine=imap.quarantine_folder,
        poll_interval_s=imap.poll_interval_s,
        idle_timeout_s=imap.idle_timeout_s,
        timeout_s=imap.timeout_s,
        since=imap.since,
        receipt_lang=settings.lang,
        client_id=tuple(imap.id.items()),
    )


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
            taken = await asyncio.to_thread(_take_folder, service.ctx, folder, seen)
        except Exception:  # a database outage or an unreadable folder must not end intake
            log.exception("mail folder %s: intake failed", folder)
            taken = 0
        if taken:
            await service.mail_applied()
        if await _stopped_within(service.stop, FOLDER_POLL_S):
            return


def _take_folder(ctx: AppContext, folder: Path, seen: dict[Path, tuple[float, int]]) -> int:
    from mail.intake import ingest
    from mail.receipts import enqueue_receipt
    from mail.sources import iter_paths
    from storage.engine import session_scope

    taken = 0
    settled_before = time.time() - SETTLE_S
    for path in iter_paths([str(folder)]) if folder.is_dir() else []:
        stat = path.stat()
        if seen.get(path) == (stat.st_mtime, stat.st_size) or stat.st_mtime > settled_before:
            continue  # taken already, or still being written
        outcome = ingest(
            ctx.engine, path.read_bytes(), str(path), ctx.intake_config(sandboxed=READ_IN_WORKER), ctx.now()
        )
        with session_scope(ctx.engine) as session:
            enqueue_receipt(
                session, outcome, ctx.now(), ctx.settings.lang, senders=ctx.settings.trusted_senders()
            )
        seen[path] = (stat.st_mtime, stat.st_size)
        taken += 1
    return taken


# --- scheduler -------------------------------------------------------------------------------------


def _schedule(service: Service, announce: Callable[[str], None]) -> None:
    queue = getattr(service.application, "job_queue", None)
    if queue is not None:

        async def job(context: Any) -> None:
            await service.tick()

        queue.run_repeating(job, interval=TICK_S, first=0, name="ccerbot-scheduler")
        announce("运行：提醒调度（PTB JobQueue，每分钟；启动时补写今天已到时间的提醒）")
        return
    service.tasks.append(asyncio.create_task(_tick_loop(service), name="scheduler"))
    announce("运行：提醒调度（每分钟；启动时补写今天已到时间的提醒）")


async def _tick_loop(service: Service) -> None:
    while not service.stop.is_set():
        try:
            await service.tick()
        except Exception:  # one failed tick (a database outage) must not end the schedule
            log.exception("scheduler tick failed")
        if await _stopped_within(service.stop, TICK_S):
            return


# --- helpers ---------------------------------------------------------------------------------------


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def _optional(module: str) -> Any:
    """A part written separately that may not be installed in this build."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name != module:
            raise
        return None
