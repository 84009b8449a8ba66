"""A Sandbox stand-in on a local directory, for fast unit tests of the tools (each tool also has tests on the
real engine)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

from swefarm.sandbox.models import CommandResult


class LocalSandbox:
    """The Sandbox calls the editor and search tools make, on a local directory (which is also the workdir)."""

    def __init__(self, root: Path):
        self.root = str(root)
        self.config = SimpleNamespace(workdir=self.root)
        self.commands: list[str] = []

    def run_stateless(self, cmd, timeout=None, idle_timeout=None, cwd=None, env=None, max_output=None):
        self.commands.append(cmd)
        proc = subprocess.run(
            ["bash", "-c", cmd],
            cwd=cwd or self.root,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
        return CommandResult(exit_code=proc.returncode, output=proc.stdout.decode(errors="replace"), duration=0.0)

    def read_file(self, path: str) -> bytes:
        return Path(self.root, path).read_bytes()

    def write_file(self, path: str, data: bytes | str, mode: int | None = None) -> None:
        target = Path(self.root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
