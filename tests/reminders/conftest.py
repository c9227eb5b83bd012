from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from mail.intake import IntakeConfig, take
from mail.sources import iter_paths
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.reminders.helpers import samples_dir, utc_now

SAMPLES = samples_dir()


@pytest.fixture(scope="session")
def samples() -> Path:
    if SAMPLES is None:
        pytest.skip("the shared sample corpus is not here")
    return SAMPLES


@pytest.fixture(scope="session")
def sample_settings(samples: Path) -> Settings:
    return load_settings(str(samples / "ccerbot.toml"))


@pytest.fixture(scope="session")
def sample_db_file(
    samples: Path, sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The sample corpus taken in once; each test gets a copy."""
    path = tmp_path_factory.mktemp("samples") / "samples.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    config = IntakeConfig(senders=sample_settings.trusted_senders(), tz=sample_settings.tz)
    for mail in iter_paths([str(samples / "mail")]):
        assert take(engine, mail.read_bytes(), str(mail), config, utc_now()).outcome == "applied", mail
    engine.dispose()
    return path


@pytest.fixture
def sample_engine(sample_db_file: Path, tmp_path: Path) -> Iterator[Engine]:
    copy = tmp_path / "samples.db"
    shutil.copy(sample_db_file, copy)
    engine = make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()
