"""Under --lang en the command line's errors are English, one line each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from compliance.creditcode import make_code
from tests.cli.test_national import args  # noqa: F401  (the fixture)

CJK = re.compile(r"[\u4e00-\u9fff\uff00-\uffef]")


@pytest.mark.parametrize(
    ("typed", "code", "words"),
    [
        (["status", "12345"], 2, "12345 is not a valid unified social credit code"),
        (["status", make_code("91110000MA0000001")], 1, "no key emitting unit with credit code"),
        (["province", "火星省"], 1, "no province"),
        (["status", make_code("91110000MA0000001"), "--at", "yesterday"], 2, "--at needs an ISO instant"),
        (["quarantine", "show", "99"], 2, "no quarantined message number 99"),
        (["invite", "--unit", "91440100MA5C000099"], 2, "no unit with credit code"),
    ],
)
def test_errors_in_english(
    args: list[str],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    typed: list[str],
    code: int,
    words: str,
) -> None:
    capsys.readouterr()
    assert main([*args, "--lang", "en", *typed]) == code
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ccerbot: ") and words in line
    assert not CJK.search(re.sub("(火星|山东|广东)省", "", line)), line  # but the names of places


def test_a_missing_configuration_file_in_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "--config", str(tmp_path / "none.toml"), "province", "山东省"]) == 1
    assert "configuration file" in capsys.readouterr().err


def test_chinese_stays_the_default(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    capsys.readouterr()
    assert main([*args, "status", "12345"]) == 2
    assert "不是有效的统一社会信用代码" in capsys.readouterr().err
