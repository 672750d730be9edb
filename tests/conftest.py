"""Shared test fixtures: the PlanBench reference data lives in ../shared, never copied in."""

import os
from pathlib import Path

import pytest

PLANBENCH = Path(os.environ.get("PLANBENCH_SHARED",
                                Path(__file__).resolve().parents[2] / "shared" / "planbench"))


@pytest.fixture(scope="session")
def planbench() -> Path:
    """The PlanBench reference data folder (../shared/planbench beside the checkout)."""
    assert PLANBENCH.is_dir(), f"PlanBench reference data not found at {PLANBENCH}"
    return PLANBENCH
