"""Reset and step latency of mini-swe-agent's Docker environment, for `swefarm bench env`.

mini-swe-agent (PyPI `mini-swe-agent`, import `minisweagent`) is not a dependency of
swefarm: it is imported lazily here and only called, so the benchmark can put its
Docker environment next to ours, on the same image, in the same run.

What is timed, as a user of each environment pays it:
- reset: constructing `DockerEnvironment(image=...)`, which starts its container with
  `docker run -d ... sleep <container_timeout>`, until the answer to a first `true` is back;
- step: `env.execute({"command": "true"})` on a started environment, which is one
  `docker exec -w <cwd> <id> bash -lc true` through the docker CLI.

For fairness its container gets `--network none` like our sandboxes. Every container it
starts carries swefarm owner labels (so `sandbox.gc` can reap it if this process dies)
and is removed synchronously before this function returns, error or not.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
import uuid

from swefarm.bench.stats import p50_ms
from swefarm.sandbox.labels import PREFIX, owner_labels

INSTALL_HINT = (
    "mini-swe-agent is not installed; the benchmark needs it (it is not a swefarm dependency). "
    "Install it with `pip install mini-swe-agent` (into the venv that runs the benchmark, "
    "e.g. `.venv/bin/pip install mini-swe-agent`)."
)
RUN_LABEL = f"{PREFIX}.bench_run"
_DRAIN_S = 15.0  # how long to wait for the background shells its cleanup() leaves


def _import_mini():
    """(version, DockerEnvironment) of the installed mini-swe-agent, or a RuntimeError saying how to install it."""
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")  # its import prints a banner on stdout otherwise
    try:
        import minisweagent
        from minisweagent.environments.docker import DockerEnvironment
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    return str(getattr(minisweagent, "__version__", "unknown")), DockerEnvironment


def _execute(env, version: str, command: str) -> dict:
    """Run `command` with whichever execute() signature this version has (v2 takes an action dict)."""
    try:
        takes_action = int(version.split(".", 1)[0]) >= 2
    except ValueError:
        takes_action = True  # an unknown version: assume the current API
    out = env.execute({"command": command}) if takes_action else env.execute(command)
    if out.get("returncode") != 0:
        raise RuntimeError(f"mini-swe-agent's `{command}` failed: {out}")
    return out


def _pids_mentioning(text: str) -> list[int]:
    """Live processes (not this one, not zombies) whose command line contains `text` (Linux; [] elsewhere).

    Not only children: the shell cleanup() spawns backgrounds its docker calls (`... &`) and
    exits, so they are reparented away from this process at once.
    """
    me, found = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    if fh.read().decode(errors="replace").rsplit(")", 1)[1].split()[0] == "Z":
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if text.encode() in fh.read():
                        found.append(int(entry))
            except (OSError, IndexError):
                continue
    return found


def _docker_rm(executable: str, ids: list[str]) -> None:
    if ids:
        subprocess.run([executable, "rm", "-f", *ids], capture_output=True, timeout=60, check=False)


def _dispose(env, executable: str) -> None:
    """Its own cleanup(), then a synchronous `docker rm -f` by id; waits for the shell cleanup() left behind.

    cleanup() only spawns `(docker stop <id> || docker rm -f <id>) &` and returns; `docker stop`
    waits 10 s because `sleep` as PID 1 ignores SIGTERM. The rm -f makes removal immediate and
    certain; waiting for the spawned shell keeps its docker calls out of the next measurement.
    """
    cid = getattr(env, "container_id", None)
    try:
        env.cleanup()
    finally:
        if cid:
            _docker_rm(executable, [cid])
            deadline = time.monotonic() + _DRAIN_S
            while _pids_mentioning(cid) and time.monotonic() < deadline:
                time.sleep(0.02)
            env.container_id = None  # its __del__ calls cleanup() again otherwise


def _sweep(executable: str, run_id: str) -> None:
    """Remove every container this run started, found by its run label (covers ids never learnt)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        listed = subprocess.run(
            [executable, "ps", "-aq", "--no-trunc", "--filter", f"label={RUN_LABEL}={run_id}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        _docker_rm(executable, listed.stdout.split())


def _time_resets(make_env, run, dispose, resets: int) -> list[float]:
    """Seconds from constructing an environment (its container starts) to the answer of its first `true`."""
    times = []
    for _ in range(resets):
        env = None
        try:
            t0 = time.perf_counter()
            env = make_env()
            run(env, "true")
            times.append(time.perf_counter() - t0)
        finally:
            if env is not None:
                dispose(env)
    return times


def _time_steps(make_env, run, dispose, steps: int) -> list[float]:
    """Seconds per `true` on one started environment (after one untimed warm-up command)."""
    env = make_env()
    try:
        run(env, "true")
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            run(env, "true")
            times.append(time.perf_counter() - t0)
        return times
    finally:
        dispose(env)


def measure_mini_swe_agent(image: str, resets: int = 10, steps: int = 100, cwd: str = "/") -> dict:
    """Median reset and step latency (ms) of mini-swe-agent's DockerEnvironment on `image`.

    Raises RuntimeError when mini-swe-agent is not importable (the message says how to install
    it), when the docker CLI it drives is not on PATH, or when its container or a command fails.
    """
    if resets < 1 or steps < 1:
        raise ValueError("resets and steps must be at least 1")
    version, DockerEnvironment = _import_mini()
    executable = os.getenv("MSWEA_DOCKER_EXECUTABLE", "docker")
    if shutil.which(executable) is None:
        raise RuntimeError(f"mini-swe-agent drives the `{executable}` CLI, which is not on PATH")

    run_id = uuid.uuid4().hex
    run_args = ["--rm", "--network", "none"]
    for key, value in {**owner_labels("bench-mini"), RUN_LABEL: run_id}.items():
        run_args += ["--label", f"{key}={value}"]
    quiet = logging.getLogger("swefarm.bench.mini")  # its default logger prints every start on stdout
    quiet.setLevel(logging.WARNING)

    def make_env():
        return DockerEnvironment(logger=quiet, image=image, cwd=cwd, executable=executable, run_args=run_args)

    def run(env, command: str) -> None:
        _execute(env, version, command)

    def dispose(env) -> None:
        _dispose(env, executable)

    try:
        reset_s = _time_resets(make_env, run, dispose, resets)
        step_s = _time_steps(make_env, run, dispose, steps)
    except subprocess.SubprocessError as exc:  # its `docker run` failed or timed out: say what docker said
        said = getattr(exc, "stderr", None) or getattr(exc, "output", None) or ""
        said = said.decode(errors="replace") if isinstance(said, bytes) else said
        raise RuntimeError(f"mini-swe-agent's DockerEnvironment failed on {image}: {said.strip() or exc}") from exc
    finally:
        _sweep(executable, run_id)

    return {
        "version": version,
        "reset_p50_ms": p50_ms(reset_s),
        "step_p50_ms": p50_ms(step_s),
        "resets": len(reset_s),
        "steps": len(step_s),
    }


if __name__ == "__main__":  # python -m swefarm.bench.mini [image]
    import json
    import sys

    print(json.dumps(measure_mini_swe_agent(sys.argv[1] if len(sys.argv) > 1 else "swefarm/base:py3.11"), indent=2))
