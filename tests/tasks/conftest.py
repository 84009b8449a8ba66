"""Fixtures for the task tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from task_samples import LITE_DEV


@pytest.fixture
def lite_dev() -> Path:
    """The real file of 23 SWE-bench Lite dev instances."""
    if not LITE_DEV.is_file():
        pytest.fail(f"{LITE_DEV} is missing: the SWE-bench Lite dev split is part of the shared data")
    return LITE_DEV
