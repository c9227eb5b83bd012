"""`ccerbot run`: what it says it runs, what it does with mail taken in, and how it stops."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.config import Settings
from bot.context import AppContext
from bot.service import serve
from storage import outbox
from tests.reminders.helpers import GUARD_S, settings, wait_until
from tests.servers.botapi import BotApiServer
from tests.servers.smtp import SmtpServer

SD_OFFICER_CHAT = 7001


def copy_mail(samples: Path, folder: Path) -> int:
    folder.mkdir()
    files = sorted((samples / "mail").glob("*.eml"))
    for path in files:
        shutil.copy2(path, folder / path.name)  # keeps the old mtime: the files are complete
    return len(files)


async def test_mail_taken_in_leads_to_receipts_and_anomaly_alerts_once(
    samples: Path,
    sample_settings: Settings,
    botapi: BotApiServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    count = copy_mail(samples, tmp_path / "inbox")
    configured = settings(
        f"sqlite:///{tmp_path / 'run.db'}",
        botapi=botapi,
        smtp=smtp_server,
        senders=sample_settings.senders.model_dump(),
        mail_folder=str(tmp_path / "inbox"),
        officers=[{"telegram_id": SD_OFFICER_CHAT, "province": "山东省"}],
    )
    ctx = AppContext(configured)
    said: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ctx, stop, said.append))
    try:
        # 山东省's officer is in chat; 广东省's officers only have their mailbox
        await wait_until(lambda: botapi.sent_texts(SD_OFFICER_CHAT), "the 山东省 anomaly alert in chat")
        await wait_until(
            lambda: len(smtp_server.messages) >= count + 1, "receipts and the 广东省 alert by email"
        )
    finally:
        stop.set()
        service = await asyncio.wait_for(task, GUARD_S)
    assert said[0].startswith("周期：2019-2020") and said[0].endswith("按配置")
    assert [line.split("：")[0] for line in said[1:]] == [
        "运行",
        "运行",
        "运行",
        "未运行",
        "未运行",
        "运行",
        "运行",
        "警告",
        "运行",
    ]
    assert "未运行：群机器人（未配置 [[groups]]）" in said
    assert any(line.startswith("运行：邮件在独立的工作进程中读取") for line in said)
    assert any("长轮询" in line for line in said) and any("监视邮件文件夹" in line for line in said)
    assert any("JobQueue" in line for line in said)
    # After the cycle: the over-cap anomaly, and the confirmed unit not fully cancelled by 12-15 to chase.
    alerts = botapi.sent_texts(SD_OFFICER_CHAT)
    [over_cap] = [a for a in alerts if "91371406QA4XFD1Y5B" in a]
    assert "5%" in over_cap
    [chase] = [a for a in alerts if "913703082HD1TJ3Y9U" in a]
    assert "未足额注销" in chase and "13,896,388" in chase
    subjects = Counter(m.subject.split("：")[0] for m in smtp_server.messages)
    assert subjects["回执"] == count
    mailed = [m for m in smtp_server.messages if "异常" in m.subject]
    assert {m.rcpt_tos for m in mailed} == {("tanjiaoyi@gdee.guangdong.example",)}
    assert all(i.state == "sent" for i in outbox.items(ctx.engine))
    assert service.sender is not None and service.sender.tally.failed == 0


async def test_a_service_with_nothing_configured_says_what_it_leaves_out(tmp_path: Path) -> None:
    ctx = AppContext(settings(f"sqlite:///{tmp_path / 'run.db'}"))
    said: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ctx, stop, said.append))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, GUARD_S)
    assert said[0].startswith("周期：2019-2020")
    assert [line.split("：")[0] for line in said[1:]] == ["未运行"] * 6 + ["警告", "运行"]
    assert "任何能伪造 From 的人都能改动数据" in said[-2]
    assert "提醒调度" in said[-1]


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    toml = tmp_path / "ccerbot.toml"
    toml.write_text(f'mail_folder = "{tmp_path / "inbox"}"\n', "utf-8")
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "--config",
        str(toml),
        "--db",
        f"sqlite:///{tmp_path / 'r.db'}",
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CCERBOT_")}
    process = subprocess.Popen([*command, "run"], stderr=subprocess.PIPE, text=True, env=environment)
    assert process.stderr is not None
    lines = []
    while not any("提醒调度" in line for line in lines):
        line = process.stderr.readline()
        assert line, f"ended early: {lines}"
        lines.append(line)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=GUARD_S)
    assert process.returncode == 0, rest
    assert "已停止" in rest
    assert any("监视邮件文件夹" in line for line in lines)


LOADED_WHEN_USED = ("matplotlib", "numpy", "openpyxl")  # charts; exports and Friday summaries (with numpy)
SERVICE_START = """
import sys
from pydantic import SecretStr
import bot.cli, bot.service
from bot.config import Settings, TelegramConfig
from bot.context import AppContext
from bot.scheduler import Scheduler
from bot.telegram.app import build_application
telegram = TelegramConfig(token=SecretStr("123:abc"))
ctx = AppContext(Settings(database_url=sys.argv[1], cycle="2019-2020", telegram=telegram))
build_application(ctx)
Scheduler(ctx.engine, ctx.settings, ctx.cycle).tick()
print(" ".join(m for m in sys.argv[2:] if m in sys.modules))
"""


def test_the_service_loads_charts_and_spreadsheet_writing_only_when_asked_for_them(tmp_path: Path) -> None:
    """What `ccerbot run` loads to start (its modules, the Telegram chat, a tick of the scheduler) holds
    no matplotlib, numpy or openpyxl, some 50 MB of the service's memory: the first chart, export or
    Friday summary loads them."""
    url = f"sqlite:///{tmp_path / 'run.db'}"
    done = subprocess.run(
        [sys.executable, "-c", SERVICE_START, url, *LOADED_WHEN_USED],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CCERBOT_")},
    )
    assert done.stdout.split() == []
