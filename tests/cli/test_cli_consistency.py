"""What a newcomer meets in the `swefarm` command: a version, a doctor that tells problems from what is only
optional (and says so in JSON and its exit code), one line instead of a traceback when the engine is away,
a clear message for a task the store does not hold, and `run --out` reruns that resume instead of repeating."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SWEFARM = [sys.executable, "-m", "swefarm.cli.main"]
NO_ENGINE = "unix:///nonexistent/docker.sock"


def swefarm(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*SWEFARM, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})  # fmt: skip


@pytest.fixture
def demo_store(tmp_path):
    """A store holding the demo task (its record only: nothing built)."""
    from swefarm.tasks.demo import make_repo, make_task
    from swefarm.tasks.store import TaskStore

    _, commits = make_repo(tmp_path / "src")
    task = make_task(commits)
    path = tmp_path / "tasks.db"
    TaskStore(path).put(task)
    return path, task


def test_version():
    from importlib.metadata import version

    done = swefarm("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"swefarm {version('swefarm')}"


def test_doctor_tells_problems_from_optional_bases_in_json_and_its_exit_code(monkeypatch):
    from swefarm.cli.main import app
    from swefarm.sandbox import doctor
    from swefarm.sandbox.bases import DEFAULT_PYTHON
    from typer.testing import CliRunner

    monkeypatch.setattr(doctor, "image_exists", lambda client, tag: False)  # no base built at all
    monkeypatch.setattr(doctor, "connect", lambda timeout=5: _FakeEngine())
    result = CliRunner().invoke(app, ["doctor", "--json"])
    report = json.loads(result.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    default = f"base swefarm/base:py{DEFAULT_PYTHON}"
    assert statuses[default] == "problem"  # what `swefarm setup` builds, missing
    others = [name for name in statuses if name.startswith("base ") and name != default]
    assert others and all(statuses[name] == "optional" for name in others)  # built on demand: not problems
    assert report["ok"] is False and result.exit_code == 1

    monkeypatch.setattr(doctor, "image_exists", lambda client, tag: tag.endswith(f"py{DEFAULT_PYTHON}"))
    result = CliRunner().invoke(app, ["doctor"])
    assert "optional" in result.stdout and "problem" not in result.stdout.replace("problems", "")
    assert result.exit_code == 0, result.stdout


class _FakeEngine:
    def info(self):
        return {"ServerVersion": "test", "Driver": "overlay2", "NCPU": 2, "MemTotal": 2**34, "Warnings": []}


def test_doctor_json_without_an_engine_exits_1():
    done = swefarm("doctor", "--json", env={"DOCKER_HOST": NO_ENGINE})
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["ok"] is False
    assert report["checks"][0]["status"] == "problem" and "swefarm setup" in report["checks"][0]["detail"]


def test_commands_say_one_line_when_the_engine_is_unreachable(demo_store, tmp_path):
    store, task = demo_store
    for args in (["images", "list"], ["run", task.instance_id, "--policy", "empty", "--store", str(store),
                                       "--out", str(tmp_path / "out"), "--no-parquet"]):  # fmt: skip
        done = swefarm(*args, env={"DOCKER_HOST": NO_ENGINE})
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        lines = [line for line in done.stderr.splitlines() if line.startswith("swefarm: ")]
        assert len(lines) == 1 and "EngineUnavailableError" in lines[0] and "swefarm setup" in lines[0], done.stderr


def test_an_unknown_task_id_names_the_store_and_what_to_do(tmp_path, demo_store):
    store, task = demo_store
    code = f"""
import gymnasium, swefarm
from swefarm.envs.registration import UnknownTaskError
try:
    gymnasium.make("swe/nobody__nothing-1-v0")
except UnknownTaskError as exc:
    print("MESSAGE", exc)
from swefarm.tasks.store import TaskStore
TaskStore({str(tmp_path / "home" / "tasks.db")!r}).put(TaskStore({str(store)!r}).get({task.instance_id!r}))
from gymnasium.envs import registration
print("FOUND", registration._find_spec("swe/{task.instance_id}-v0").id)  # added after the import: found
"""
    env = {**os.environ, "SWEFARM_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    message = done.stdout.split("MESSAGE ", 1)[1].split("\n")[0]
    assert "nobody__nothing-1" in message and str(tmp_path / "home" / "tasks.db") in message
    assert "swefarm tasks import" in message and "swefarm demo" in message
    assert f"FOUND swe/{task.instance_id}-v0" in done.stdout


@pytest.mark.docker
def test_a_rerun_of_run_out_resumes_and_never_repeats_an_episode(calc_store, valid_calc_task, tmp_path):
    from swefarm.policy.trajectory import read_jsonl

    out = tmp_path / "run"
    args = ["run", valid_calc_task.instance_id, "--policy", "empty", "--store", str(calc_store), "--out", str(out),
            "--no-parquet"]  # fmt: skip
    first = swefarm(*args)
    assert first.returncode == 1 or first.returncode == 0, first.stderr  # (empty: not resolved, not failed)
    assert "turns" in first.stderr and "tokens" in first.stderr  # the progress line counts turns and tokens
    again = swefarm(*args)
    assert "nothing left to run" in again.stderr, again.stderr
    more = swefarm(*args, "--episodes", "2")
    assert "resuming with the 1 left" in more.stderr, more.stderr
    episodes = [(t.task, t.episode) for t in read_jsonl(out / "trajectories.jsonl")]
    assert sorted(episodes) == [(valid_calc_task.instance_id, 0), (valid_calc_task.instance_id, 1)]
    other = swefarm("run", valid_calc_task.instance_id, "--policy", "oracle", "--store", str(calc_store),
                    "--out", str(out), "--no-parquet")  # fmt: skip
    assert other.returncode == 1 and "holds another run" in other.stderr
    assert len(list(read_jsonl(out / "trajectories.jsonl"))) == 2
