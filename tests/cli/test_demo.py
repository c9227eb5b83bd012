"""`ccerbot demo` on a fresh directory, standard input not a terminal: it prints and exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.demo.story import load_story


def test_demo_prints_every_instant_and_exits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo.db").exists() and len(list((tmp_path / "demo-mail").glob("*.eml"))) > 20
    for instant in (
        "2021-11-19 09:00",
        "2021-12-10 09:00",
        "2021-12-15 09:00",
        "2021-12-16 09:00",
        "2021-12-31 09:00",
    ):
        assert instant in out
    assert "已隔离" in out and "重复邮件" in out  # the untrusted sender and the duplicate delivery
    assert "95% 履约目标检查" in out and "尚需注销 CCER" in out
    assert "CCER 不符合抵销条件" in out and "超过应清缴配额量的 5%" in out
    # After the cancellation deadline nobody is told to cancel: what was cancelled in time is used.
    after = out.split("2021-12-16 09:00", 1)[1]
    assert "尚需注销 CCER" not in after and "请在履约申请中选择截止前注销生成的 CCER" in after


def test_demo_in_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "units complied" in out and "95 % compliance target" in out


def test_demo_twice_starts_afresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == first


def test_demo_tells_step_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Applications arrive by mail, the officer decides in the console, the Friday summary is composed,
    sent and read back: the units then stand as the officer decided."""
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    step4 = load_story()["step4"]
    scene, after = out.split("2021-11-19 09:00", 1)
    assert f"第四步由 ccerbot 完成：{step4['province']}" in scene
    assert scene.count("CCER 抵销申请表：已登记，待省级主管部门确认") == sum(
        "apply" in u for u in step4["units"]
    )
    assert "已记录：已确认" in scene and "已记录：已退回" in scene
    assert "已排队发送至 registry@ccersc.org.cn" in scene
    assert "summary.eml" in scene and "CCER 抵销申请汇总表：已处理" in scene.rsplit("summary.eml", 1)[1]
    for unit in step4["units"]:
        if "apply" in unit:
            result = "已确认" if unit["decide"] == "confirm" else "不予确认"
            assert f"{unit['name']}：{result} {unit['apply'][1]:,} 吨" in after
