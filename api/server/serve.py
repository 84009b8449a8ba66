"""`swefarm serve`: the API on host:port, and optionally its own workers as child processes.

Local workers are `swefarm worker` processes started with the server's settings (as `SWEFARM_*`
variables); one that exits while the server runs is started again, and all of them get SIGTERM
when the server stops (and when it dies: they ask the kernel for SIGTERM on their parent's death).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from swefarm.api.farm.settings import Settings

log = logging.getLogger("swefarm.api")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocalWorkers:
    """Starts `count` worker processes and keeps them running until `stop()`."""

    def __init__(self, settings: Settings, count: int):
        self.settings, self.count = settings, count
        self.procs: list[subprocess.Popen] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="swefarm-local-workers", daemon=True)

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, **self.settings.to_env(), "SWEFARM_WORKER_PORT": "0"}
        own = ("SWEFARM_WORKER_URL", "SWEFARM_WORKER_URL_FILE", "SWEFARM_API_URL_FILE", "SWEFARM_API_TOKENS")
        for name in (*own, "SWEFARM_API_TOKENS_FILE"):
            env.pop(name, None)  # each worker has its own port and URL; workers need no client token
        return subprocess.Popen(
            [sys.executable, "-m", "swefarm.cli.main", "worker"],
            env=env,
            preexec_fn=_die_with_parent,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]
        self._thread.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(1.0):
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None and not self._stopping.is_set():
                    log.warning("local worker pid %d exited with %s; starting another", proc.pid, proc.returncode)
                    time.sleep(1.0)
                    self.procs[i] = self._spawn()

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serve(settings: Settings) -> None:
    """Run the API (blocking) until SIGTERM or Ctrl-C, with `settings.local_workers` workers beside it."""
    import uvicorn
    from swefarm.api.farm.net import bind_socket
    from swefarm.api.server.app import create_app

    settings.tokens()  # fail now, with what to do, rather than on the first request
    sock = bind_socket(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    app = create_app(settings)
    workers = LocalWorkers(settings, settings.local_workers)
    workers.start()
    if settings.api_url_file:
        from pathlib import Path

        Path(settings.api_url_file).write_text(f"http://{host}:{port}")
    try:
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=10)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        workers.stop()
