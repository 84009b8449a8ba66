"""The mini-swe-agent benchmark's missing-package path: no Docker, no mini-swe-agent needed."""

from __future__ import annotations

import sys

import pytest
from swefarm.bench.mini import measure_mini_swe_agent


def test_missing_minisweagent_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "minisweagent", None)  # `import minisweagent` now raises ImportError
    monkeypatch.delenv("MSWEA_SILENT_STARTUP", raising=False)  # restored after the call sets it
    with pytest.raises(RuntimeError, match=r"pip install mini-swe-agent") as info:
        measure_mini_swe_agent("swefarm/base:py3.11", resets=1, steps=1)
    assert isinstance(info.value.__cause__, ImportError)
