from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.console import console_chat
from bot.context import AppContext
from storage import access
from storage.engine import session_scope
from tests.chat.data import NOW, SHANDONG, Cast


@pytest.fixture
def ctx(sqlite_engine: Engine, story: Cast) -> AppContext:
    return AppContext(
        Settings(cycle="2019-2020", database_url=sqlite_engine.url.render_as_string(hide_password=False))
    )


def talk(ctx: AppContext, lines: list[str], files: Path) -> str:
    out = StringIO()
    assert console_chat(ctx, stdin=StringIO("\n".join(lines) + "\n"), stdout=out, now=NOW, files=files) == 0
    return out.getvalue()


def test_acting_as_an_emitter(ctx: AppContext, story: Cast, tmp_path: Path) -> None:
    out = talk(ctx, ["/status", f"/as {story.applied}", "/whoami", "状态", "2", "/quit", "/status"], tmp_path)
    assert "本聊天尚未绑定" in out
    assert "现在以 华能济宁电厂 <A&B>（" in out
    assert f"重点排放单位 {story.applied}（/as）" in out
    assert "尚需注销：400 吨" in out and "<b>" not in out
    assert "[1] 📋 我的状态    [2] 📅 日程" in out
    assert "本单位：已注销 600 吨 / 确认 1,000 吨" in out  # typed 2: the calendar button
    assert out.rstrip().endswith("再见。")
    assert out.count("本聊天尚未绑定") == 1  # nothing is read after /quit


def test_acting_as_an_officer_saves_files(ctx: AppContext, tmp_path: Path) -> None:
    out = talk(
        ctx,
        [
            f"/as officer {SHANDONG}",
            "/overview",
            "5",
            "6",
            "/as officer 火星省",
            "/at 2021-12-31T09:00",
            "/overview",
        ],
        tmp_path,
    )
    assert "完成率 20.0%" in out
    assert (tmp_path / f"{SHANDONG}-20211209-0900.xlsx").stat().st_size > 0
    assert (tmp_path / f"{SHANDONG}.png").read_bytes().startswith(b"\x89PNG")
    assert f"（文件已保存：{tmp_path / (SHANDONG + '-20211209-0900.xlsx')}）" in out
    assert "没有 火星省 的数据" in out
    assert "95% 目标（2021年12月15日 17:00）：还差 4 家，已过截止时间" in out


def test_a_national_officer_picks_with_numbers(ctx: AppContext, tmp_path: Path) -> None:
    out = talk(ctx, ["/as officer *", "/overview", "2", "9", "12"], tmp_path)
    assert "[1] 山东省    [2] 广东省" in out
    assert "广东省履约概况" in out
    assert "请输入 1 到" in out


def test_binding_and_language_from_the_console(
    ctx: AppContext, sqlite_engine: Engine, tmp_path: Path
) -> None:
    with session_scope(sqlite_engine) as session:
        plain = access.new_code(session, role="officer", province=SHANDONG, now=NOW)
    out = talk(
        ctx,
        [f"/bind {plain}", "/whoami", "/lang en", "/overview", "/unbind", "/whoami", "/as nonsense"],
        tmp_path,
    )
    assert "绑定成功：山东省主管部门" in out
    assert "山东省主管部门（已绑定）" in out
    assert "5 key emitting units, 1 complied" in out
    assert "Not bound." in out and "Usage: /as" in out
