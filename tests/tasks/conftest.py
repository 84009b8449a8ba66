"""Fixtures for the task tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from swebench_sample import write_sample


@pytest.fixture
def lite_dev(tmp_path_factory) -> Path:
    """A SWE-bench Lite-shaped file of 23 instances, made here (tests/tasks/swebench_sample.py)."""
    return write_sample(tmp_path_factory.mktemp("swebench") / "lite-sample.jsonl")
