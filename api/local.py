"""A farm on this machine for one job: `swefarm serve` with its own workers, a fresh token and database.

    with LocalFarm(home) as farm:          # a free port on 127.0.0.1; returns once the workers are up
        client = farm.client()
        ...
    # stopped with SIGTERM: every session ends and every sandbox is removed

`swefarm optimize --local`, `swefarm bench api` and the tests use it. The server runs in its own
process group, so `kill()` can take it down with its workers at once, as a crash would.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from swefarm.api.client import SwefarmClient
from swefarm.api.farm.settings import Settings


class LocalFarm:
    def __init__(self, home: str | Path, workers: int = 1, tokens: int = 1, **settings: Any):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.tokens = [secrets.token_urlsafe(24) for _ in range(tokens)]
        self.token = self.tokens[0]
        self.workers = workers
        self.url_file = self.home / "api.url"
        defaults = dict(database_url=f"sqlite:///{self.home / 'api.db'}", port=0, local_workers=workers)
        self.settings = Settings(
            **{**defaults, **settings, "api_tokens": self.tokens, "api_url_file": str(self.url_file)}
        )
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None
        self.log = self.home / "serve.log"

    def start(self, timeout: float = 180.0) -> LocalFarm:
        self.url_file.unlink(missing_ok=True)
        env = {**os.environ, **self.settings.to_env()}
        env.pop("SWEFARM_API_TOKENS_FILE", None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "swefarm.cli.main", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        url_file = self.url_file
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"swefarm serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"the local farm did not come up in {timeout:.0f} s:\n{self.log_tail()}")
            if url_file.exists() and url_file.read_text():
                self.url = url_file.read_text().strip()
                try:
                    with self.client() as client:
                        if client.health()["workers_alive"] >= self.workers:
                            return self
                except Exception:
                    pass
            time.sleep(0.2)

    def client(self, token: str | None = None, timeout: float = 7200.0) -> SwefarmClient:
        return SwefarmClient(self.url, token or self.token, timeout=timeout)

    def worker_pids(self) -> list[int]:
        with self.client() as client:
            return [w.pid for w in client.workers() if w.status == "alive"]

    def stop(self, timeout: float = 120.0) -> None:
        """SIGTERM: the server stops its workers, which end their sessions and remove their sandboxes."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL to the server and its workers at once (a crash): nothing of theirs cleans up."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> LocalFarm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
