"""`ccerbot reminders --send`: writes what is due, sends it until settled, says what happened; never twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.cli import main
from storage import access
from storage.engine import session_scope
from tests.reminders.helpers import utc_now
from tests.servers.botapi import BotApiServer
from tests.servers.smtp import SmtpServer

AT = "2021-12-15T09:00:00+08:00"
UNIT = "913703082HD1TJ3Y9U"


def config(samples: Path, tmp_path: Path, botapi: BotApiServer | None, smtp: SmtpServer) -> Path:
    text = (samples / "ccerbot.toml").read_text("utf-8")
    if botapi is not None:
        text += f'\n[telegram]\nbase_url = "{botapi.base_url}"\n'
    text += (
        f'\n[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\nsender = "bot@example.cn"\n'
    )
    path = tmp_path / "ccerbot.toml"
    path.write_text(text, "utf-8")
    return path


def send(toml: Path, engine: Engine, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    database = engine.url.render_as_string(hide_password=False)
    code = main(["--config", str(toml), "--db", database, *extra, "reminders", "--at", AT, "--send"])
    return code, capsys.readouterr().out


def test_send_delivers_everything_due_once(
    samples: Path,
    sample_engine: Engine,
    botapi: BotApiServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CCERBOT_TELEGRAM_TOKEN", botapi.token)
    with session_scope(sample_engine) as session:
        access.bind(session, 4242, "emitter", utc_now(), unit_code=UNIT)
    toml = config(samples, tmp_path, botapi, smtp_server)
    code, out = send(toml, sample_engine, capsys)
    assert code == 0, out
    assert "到期 4 条：本次新写入发件箱 4 条" in out and "已送达 4 条，失败 0 条" in out
    assert len(botapi.sent_texts(4242)) == 1 and len(smtp_server.messages) == 3
    code, out = send(toml, sample_engine, capsys)  # the same morning again: nothing new, nothing sent
    assert code == 0 and "本次新写入发件箱 0 条" in out and "已送达 4 条" in out
    assert len(botapi.sent) == 1 and len(smtp_server.messages) == 3


def test_a_refused_address_fails_is_reported_and_the_command_says_so(
    samples: Path,
    sample_engine: Engine,
    smtp_server: SmtpServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    smtp_server.refuse_recipient("ccer@sthj.shandong.example")
    code, out = send(config(samples, tmp_path, None, smtp_server), sample_engine, capsys, "--lang", "en")
    assert code == 1
    assert "Delivered 3, failed 1" in out
    # 山东省's only officer address refused the alert; nobody else is left to tell, so no alert is written
    assert "Officers were told" not in out


def test_send_without_a_chat_channel_leaves_chat_items_for_the_service(
    samples: Path,
    sample_engine: Engine,
    smtp_server: SmtpServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with session_scope(sample_engine) as session:
        access.bind(session, 4242, "emitter", utc_now(), unit_code=UNIT)
    database = sample_engine.url.render_as_string(hide_password=False)
    toml = config(samples, tmp_path, None, smtp_server)
    code = main(["--config", str(toml), "--db", database, "reminders", "--at", AT, "--send", "--json"])
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["states"] == {"sent": 3, "failed": 0}
    assert summary["idle_channels"] == ["telegram"]
    assert [k for k, state in summary["items"].items() if state == "pending"] == [
        f"emitter|telegram:4242|cancel_ccer|2019-2020|2021-12-15|{UNIT}"
    ]
