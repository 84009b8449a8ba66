"""Where swefarm keeps its state: $SWEFARM_HOME, default ~/.swefarm."""

from __future__ import annotations

import os
from pathlib import Path


def swefarm_home() -> Path:
    path = Path(os.environ.get("SWEFARM_HOME", Path.home() / ".swefarm")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
