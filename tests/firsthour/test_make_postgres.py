"""`make test` on a machine where PostgreSQL answers uses it, as CI does, and the README says how."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = "CCERBOT_TEST_POSTGRES_URL"


@pytest.fixture
def listening() -> Iterator[int]:
    """A port that answers, as PostgreSQL's would."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def _pytest_environment(tmp_path: Path, port: int, given: str | None = None) -> dict[str, str]:
    """What `make pytest` hands to pytest, with `env` standing in for pytest and an installed venv assumed."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    environ = {k: v for k, v in os.environ.items() if k != VARIABLE}
    if given is not None:
        environ[VARIABLE] = given
    done = subprocess.run(
        [
            "make",
            "-s",
            "-o",
            f"{venv}/.installed",
            "pytest",
            f"VENV={venv}",
            "PYTEST=env",
            f"TEST_POSTGRES_PORT={port}",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def test_make_pytest_uses_a_postgresql_that_answers(tmp_path: Path, listening: int) -> None:
    got = _pytest_environment(tmp_path, listening)
    assert got[VARIABLE] == f"postgresql://postgres@127.0.0.1:{listening}/test"


def test_make_pytest_without_postgresql_leaves_it_unset(tmp_path: Path) -> None:
    assert _pytest_environment(tmp_path, free_port()).get(VARIABLE, "") == ""


def test_a_url_given_wins(tmp_path: Path, listening: int) -> None:
    given = "postgresql://someone@db.example/other"
    assert _pytest_environment(tmp_path, listening, given)[VARIABLE] == given


def test_the_readme_names_the_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert VARIABLE in quick_start
