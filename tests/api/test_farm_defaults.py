"""A farm that needs nothing exported: the token generated once where the operator reads it, clients that
find it, and the farm image's model stack declared the way pyproject.toml declares it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in ("SWEFARM_API_TOKEN", "SWEFARM_API_TOKENS", "SWEFARM_API_TOKENS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_token_file_is_made_once_private_and_kept(home):
    from swefarm.api.farm.tokens import ensure_token_file

    path, made = ensure_token_file()
    assert made and path == home / "api-token"
    assert path.stat().st_mode & 0o777 == 0o600
    token = path.read_text().strip()
    assert len(token) >= 32
    again, made_again = ensure_token_file()
    assert again == path and not made_again and path.read_text().strip() == token  # a restart keeps it


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_root_farm_gives_the_token_file_to_the_homes_owner(home):
    from swefarm.api.farm.tokens import ensure_token_file

    home.mkdir(parents=True)
    os.chown(home, 1234, 1234)  # an operator's ~/.swefarm, mounted into a container running as root
    path, _ = ensure_token_file()
    assert (path.stat().st_uid, path.stat().st_gid) == (1234, 1234)


def test_clients_take_the_token_variable_then_the_servers_then_the_file(home, monkeypatch):
    from swefarm.api.client import SwefarmClient
    from swefarm.api.contract.tokens import client_token
    from swefarm.api.farm.tokens import ensure_token_file

    assert client_token() is None
    path, _ = ensure_token_file()
    assert client_token() == path.read_text().strip()
    monkeypatch.setenv("SWEFARM_API_TOKENS", "the-first-token-000000, the-second-token-00000")  # the README's
    assert client_token() == "the-first-token-000000"
    monkeypatch.setenv("SWEFARM_API_TOKEN", "the-client-token-000000")
    assert client_token() == "the-client-token-000000"
    with SwefarmClient("http://127.0.0.1:9") as client:
        assert client.http.headers["authorization"] == "Bearer the-client-token-000000"


def test_serve_without_tokens_uses_the_file_and_says_where(home, tmp_path):
    """`swefarm serve` with no token configured starts, answers with the generated token, and logs the path."""
    import httpx
    from swefarm.api.farm.net import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEFARM_API_TOKEN")}
    env |= {"SWEFARM_HOME": str(home), "SWEFARM_PORT": str(port), "SWEFARM_TASK_STORE": str(tmp_path / "t.db")}
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "swefarm.cli.main", "serve", "--workers", "0"], env=env, stdout=out, stderr=out
        )
    try:
        import time

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        token = (home / "api-token").read_text().strip()
        ok = httpx.get(f"http://127.0.0.1:{port}/v1/tasks", headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert httpx.get(f"http://127.0.0.1:{port}/v1/tasks").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert str(home / "api-token") in text and "generated now" in text
    assert token not in text


def test_the_images_model_stack_is_pyprojects_policy_extra():
    """deploy/policy-requirements.txt is the `policy` extra without torch (the Dockerfile installs torch by its
    TORCH argument), so the farm runs what the CLI runs."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["policy"]
    lines = (ROOT / "deploy" / "policy-requirements.txt").read_text().splitlines()
    listed = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert sorted(listed) == sorted(r for r in extra if not r.startswith("torch"))


def test_a_cpu_torch_wheel_from_the_hosts_pip_goes_into_the_build_context(tmp_path, monkeypatch):
    from swefarm.api.server import image

    version = image.torch_version()
    wheel = tmp_path / f"torch-{version}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"not really a wheel")
    (tmp_path / f"torch-{version}-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"a CUDA build")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    assert image.local_torch_wheel(version) == wheel
    assert (
        image.local_torch_wheel(version, python="cp313") is None
        or "cp313" in image.local_torch_wheel(version, python="cp313").name
    )
    context = tmp_path / "context"
    context.mkdir()
    image._context(context, "cpu", "cp311")
    assert (context / "deploy" / "wheels" / wheel.name).read_bytes() == b"not really a wheel"
    none = tmp_path / "context-none"
    none.mkdir()
    image._context(none, "none", "cp311")
    assert not (none / "deploy" / "wheels").exists()
    assert image._digest(context, "b", "cpu") != image._digest(context, "b", "cuda")
