"""The README's code blocks, run as written: every Python block runs against the real engine, the demo task
(`make demo` builds it) in a fresh home, and a farm started the way the README starts one (no token given: it
makes ~/.swefarm/api-token). A block that needs what CI does not have (GitHub, a model server, Compose) says
so right above it (`<!-- readme: not run (why; which test runs it) -->`), and only such blocks are skipped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = re.compile(r"<!-- readme: not run \((.+)\) -->")


def blocks() -> list[tuple[int, str, str, str | None]]:
    """(line, language, code, why not run) for each fenced block with a language."""
    lines = (ROOT / "README.md").read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```(\w+)\s*$", lines[i])
        if fence:
            end = lines.index("```", i + 1)
            before = next((line for line in reversed(lines[:i]) if line.strip()), "")
            skip = NOT_RUN.search(before)
            found.append((i + 1, fence.group(1), "\n".join(lines[i + 1 : end]), skip.group(1) if skip else None))
            i = end
        i += 1
    return found


def test_every_block_is_run_or_says_why_not():
    listed = blocks()
    assert len([b for b in listed if b[1] == "python"]) >= 4
    for line, language, _, why in listed:
        assert language in ("python", "bash"), f"README.md:{line}: a {language} block"
        if language == "bash":
            assert why, f"README.md:{line}: a shell block needs `<!-- readme: not run (why) -->` above it"
        if why:
            assert "test" in why or "CI" in why, f"README.md:{line}: say which test runs it instead: {why}"


@pytest.fixture(scope="module")
def home(tmp_path_factory, docker_client):
    """A user's $HOME after `make demo`: ~/.swefarm holds the built, validated demo task."""
    user = tmp_path_factory.mktemp("readme-user")
    env = {**os.environ, "SWEFARM_HOME": str(user / ".swefarm")}
    code = "import rich.console, swefarm.harness.demo as d; d.task_for_demo(None, rich.console.Console())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return user


def user_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEFARM_")}
    return {**env, "HOME": str(home), **extra}


@pytest.fixture(scope="module")
def farm(home):
    """`swefarm serve --workers 1` with no token configured, on a free port (the README's is 8600)."""
    import httpx
    from swefarm.api.farm.net import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    env = user_env(home, SWEFARM_PORT=str(port))
    with open(home / "serve.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "swefarm.cli.main", "serve", "--workers", "1"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).json()["workers_alive"] >= 1:
                break
        except (httpx.TransportError, KeyError, ValueError):
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (home / "serve.log").read_text()[-3000:]
        time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=120)


PYTHON = [(line, code) for line, language, code, why in blocks() if language == "python" and not why]


@pytest.mark.docker
@pytest.mark.farm
@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(1800)  # the first block also pays for building the demo task and starting the farm
@pytest.mark.parametrize("line,code", PYTHON, ids=[f"README.md:{line}" for line, _ in PYTHON])
def test_the_python_block_runs_as_written(line, code, home, farm):
    env = user_env(home, SWEFARM_API_URL=farm)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=840)  # fmt: skip
    assert done.returncode == 0, f"README.md:{line}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
