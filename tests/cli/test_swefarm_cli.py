"""The `swefarm` commands a user runs, against the real engine."""

from __future__ import annotations

import json

import docker
import pytest
from swefarm.cli.main import app
from typer.testing import CliRunner

runner = CliRunner()
pytestmark = pytest.mark.docker


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_setup_is_cached_on_a_second_run():
    result = invoke("setup")
    assert result.exit_code == 0, result.output
    assert "swefarm/base:py3.11 (cached)" in result.output
    assert "ok docker engine" in result.output and "ok docker compose" in result.output


def test_doctor_reports_engine_compose_and_base():
    result = invoke("doctor")
    assert result.exit_code == 0, result.output
    for row in ("docker engine", "docker compose", "swefarm/base:py3.11", "disk", "sandbox cap"):
        assert row in result.output


def test_doctor_without_an_engine_says_what_to_do(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "swefarm setup" in result.output


def test_gc_removes_only_orphans():
    client = docker.from_env()
    orphan = client.containers.run(
        "swefarm/base:py3.11",
        ["sleep", "60"],
        detach=True,
        network_mode="none",
        labels={
            "swefarm.kind": "sandbox",
            "swefarm.owner_pid": "999999999",
            "swefarm.owner_start": "1",
            "swefarm.owner_host": __import__("socket").gethostname(),
        },
    )
    try:
        result = invoke("gc")
        assert result.exit_code == 0, result.output
        assert orphan.short_id in result.output
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(orphan.id)
    finally:
        try:
            orphan.remove(force=True)
        except docker.errors.NotFound:
            pass


@pytest.mark.slow
def test_bench_sandbox_quick_reports_every_figure():
    result = runner.invoke(app, ["bench", "sandbox", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout[result.stdout.index("{") :])
    for key in (
        "exec_p50_ms",
        "docker_exec_p50_ms",
        "exec_speedup",
        "acquire_p50_ms",
        "cold_start_p50_ms",
        "concurrent_total",
        "concurrent_ok",
        "idle_rss_mb",
    ):
        assert key in figures
    assert figures["concurrent_ok"] == figures["concurrent_total"] == 8
    assert figures["idle_rss_mb"] > 0


@pytest.mark.docker
@pytest.mark.model
@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(1260)  # above the subprocess's 1200 s: building, validating and a model episode, on a loaded box
def test_demo_builds_the_embedded_task_and_scores_oracle_one_and_empty_zero(tmp_path, docker_client):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SWEFARM_HOME": str(tmp_path), "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "swefarm.cli.main", "demo"], env=env, capture_output=True, text=True, timeout=1200
    )
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {line.split("│")[1].strip(): line for line in out.stdout.splitlines() if line.startswith("│")}
    assert "resolved=1" in rows["oracle"] and "3/3" in rows["oracle"]
    assert "resolved=0" in rows["empty"] and "0/3" in rows["empty"]
    from swefarm.tasks.store import TaskStore

    assert TaskStore(tmp_path / "tasks.db").get("swefarm-demo__slugify-7").status.value == "valid"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(960)
def test_demo_lang_js_plays_the_javascript_task_and_prints_json(tmp_path, docker_client):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "SWEFARM_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "swefarm.cli.main", "demo", "--lang", "js", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(out.stdout)
    assert summary["task"] == "swefarm-demo__slugify-js-7" and summary["language"] == "javascript"
    assert summary["oracle_reward"] == 1 and summary["empty_reward"] == 0
    from swefarm.tasks.store import TaskStore

    task = TaskStore(tmp_path / "tasks.db").get("swefarm-demo__slugify-js-7")
    assert task.status.value == "valid" and task.language == "javascript"
    assert len(task.FAIL_TO_PASS) == 3 and len(task.PASS_TO_PASS) == 2
