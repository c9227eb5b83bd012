from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.db import upgraded_engine

pytest_plugins = ["tests.servers.plugin"]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An upgraded, empty database: every storage test runs on SQLite and on PostgreSQL."""
    with upgraded_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    with upgraded_engine("sqlite", tmp_path) as engine:
        yield engine
