"""The minutes-long runs (`make soak`): collected with the rest of the suite, run only when tests/soak is
named on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import anomaly_bounds, mailbox, make_setup  # noqa: F401  (fixtures)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    start = Path(config.invocation_params.dir)
    asked = [(start / arg.split("::")[0]).resolve() for arg in config.args]
    if any(path == HERE or HERE in path.parents for path in asked):
        return
    skip = pytest.mark.skip(reason="a soak run of several minutes: `make soak` runs it")
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(skip)
