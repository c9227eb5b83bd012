"""The shared corpus beside the repository (../shared), found relative to it, never by a machine's path."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples"

needs_samples = pytest.mark.skipif(
    not (SAMPLES / "expected.json").exists(), reason="../shared/samples is not here"
)
