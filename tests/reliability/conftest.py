from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.db import postgres_url, schema_url, skip_without_postgres
from tests.reliability.harness import Setup, anomalies_seen, prepare, story_mail
from tests.servers.botapi import BotApiServer
from tests.servers.dovecot import Dovecot, ImapAccount
from tests.servers.smtp import SmtpServer

SetupFactory = Callable[..., Setup]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "restarts_postgres: restarts this machine's PostgreSQL (deselect: -m 'not restarts_postgres')",
    )


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections live in a new, empty schema, dropped afterwards (tests.db.schema_url)."""
    with schema_url(postgres_url() or "") as url:
        yield url


@pytest.fixture(scope="session")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The demo's first-cycle mailbox, built once: the same bytes for every run that is compared."""
    return story_mail(tmp_path_factory.mktemp("story") / "mail")


@pytest.fixture(scope="session")
def anomaly_bounds(
    mailbox: list[bytes], tmp_path_factory: pytest.TempPathFactory
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    return anomalies_seen(mailbox, tmp_path_factory.mktemp("prefixes"))


def open_setup(
    stack: ExitStack,
    root: Path,
    mail: list[bytes],
    database: str = "sqlite",
    account: ImapAccount | None = None,
    dovecot: Dovecot | None = None,
    **options: object,
) -> Setup:
    """An installation with its own Bot API and SMTP servers, closed with `stack`."""
    botapi = stack.enter_context(BotApiServer())
    smtp = stack.enter_context(SmtpServer(password=str(options.pop("smtp_password", "secret"))))
    if database == "sqlite":
        url = f"sqlite:///{root / 'ccerbot.db'}"
    else:
        skip_without_postgres()
        url = stack.enter_context(postgres_schema())
    setup = Setup(root, url, botapi, smtp, mail, account=account, dovecot=dovecot, **options)  # type: ignore[arg-type]
    stack.callback(setup.close)
    prepare(setup)
    return setup


@pytest.fixture
def make_setup(tmp_path: Path, mailbox: list[bytes]) -> Iterator[SetupFactory]:
    """Installations for this test: make_setup(name, database="sqlite"|"postgres", account=…, dovecot=…)."""
    with ExitStack() as stack:

        def make(name: str = "bot", **options: object) -> Setup:
            return open_setup(stack, tmp_path / name, mailbox, **options)  # type: ignore[arg-type]

        yield make
