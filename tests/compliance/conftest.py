from __future__ import annotations

import pytest

from compliance.cycle import Cycle, load_cycle


@pytest.fixture
def first() -> Cycle:
    return load_cycle("2019-2020")


@pytest.fixture
def second() -> Cycle:
    return load_cycle("2021-2022")
