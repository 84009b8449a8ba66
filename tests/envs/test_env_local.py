"""SWEEnv without Docker: the demo task on the local sandbox provider (sandbox/local_backend.py, no isolation).

The episode's sandbox is the command server as a subprocess in a temporary workspace, seeded from a
directory standing for the task image (`<dir>/opt/swefarm/repo`: the repository at the base commit,
one commit, as the image holds it). Docker is not reached: making a Docker client fails these tests.
Grading goes through the same provider; it cannot succeed there, because the grader's in-sandbox tools
need the task image's own files (its pristine repository, runner and virtualenv at fixed paths), so
a submitted episode ends as infrastructure (`infra_error`, never scored). The rewards of real grading
are tested on the engine (tests/envs/test_swe_env.py).
"""

from __future__ import annotations

import subprocess
import sys

import docker
import pytest
from swefarm.envs.swe_env import SWEEnv
from swefarm.harness.images import REPO_IN_IMAGE, task_image
from swefarm.policy.scripted import OraclePolicy
from swefarm.sandbox.provider import make_provider
from swefarm.tasks.demo import make_repo, make_task

OLD_TESTS = ["tests/test_slugify.py::test_simple_words", "tests/test_slugify.py::test_accents_are_dropped"]
NEW_TESTS = [
    "tests/test_slugify.py::test_punctuation_and_spaces_collapse",
    "tests/test_slugify.py::test_custom_separator",
    "tests/test_slugify.py::test_max_length_does_not_end_on_a_separator",
]
PYTEST = f"PYTHONPATH=src {sys.executable} -m pytest -q -p no:cacheprovider tests 2>&1 | tail -1"


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def with_hidden_tests(task) -> str:
    """A command that adds the task's test patch, as grading does, and runs the tests."""
    return f"git apply - <<'SWEFARM_EOF'\n{task.test_patch}SWEFARM_EOF\n{PYTEST}"


@pytest.fixture
def no_docker(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a local-provider env reached for Docker")

    monkeypatch.setattr(docker.DockerClient, "__init__", refuse)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo task (its FAIL_TO_PASS and PASS_TO_PASS as validation finds them) and its local image."""
    root = tmp_path_factory.mktemp("demo")
    repo, commits = make_repo(root)
    task = make_task(commits).model_copy(update={"FAIL_TO_PASS": NEW_TESTS, "PASS_TO_PASS": OLD_TESTS})
    snapshot = root / "image" / REPO_IN_IMAGE.lstrip("/")
    snapshot.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commits["base"]], cwd=repo, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x"], cwd=snapshot, input=archive, check=True)
    git = ["git", "-c", "user.name=base", "-c", "user.email=base@swefarm.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=snapshot, check=True)
    provider = make_provider("local", images={task_image(task): root / "image"})
    return task, provider


@pytest.fixture
def local_env(demo, no_docker):
    task, provider = demo
    envs = []

    def make(**overrides):
        env = SWEEnv(task, client=provider, sandbox_provider="local", pool_size=1, **overrides)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()


def test_the_issue_and_the_repository_at_the_base_commit_in_a_local_workspace(local_env, demo):
    task, _ = demo
    env = local_env()
    obs, info = env.reset(seed=0)
    workdir = info["workdir"]
    assert workdir != "/testbed" and workdir.endswith("/workspace")  # the local sandbox's own directory
    assert task.problem_statement in obs and f"checked out at {workdir}" in obs
    descriptions = " ".join(spec["function"]["description"] for spec in info["tools"])
    assert workdir in descriptions  # the tools were made for that directory
    obs, *_ = env.step(call("bash", command="git log --oneline | wc -l; pwd"))
    assert obs.split() == ["1", workdir]
    obs, *_ = env.step(call("bash", command=PYTEST))
    assert obs.startswith("2 passed")  # PASS_TO_PASS, on this machine's Python
    obs, *_ = env.step(call("bash", command=with_hidden_tests(task)))
    assert "3 failed, 2 passed" in obs  # the bug is there: FAIL_TO_PASS fail


def test_the_oracle_fixes_the_demo_and_its_tests_pass_on_this_machines_python(local_env, demo):
    task, _ = demo
    env = local_env()
    obs, info = env.reset(seed=0)
    policy = OraclePolicy(task.patch)
    policy.begin(obs, info)
    while True:
        action = policy.act(obs, info)
        if '"name": "submit"' in action:
            break
        obs, reward, terminated, truncated, info = env.step(action)
        assert not (terminated or truncated) and reward == 0.0
    obs, *_ = env.step(call("bash", command="git diff"))
    assert obs.strip() == task.patch.strip()  # the gold patch, made with the episode's own tools
    obs, *_ = env.step(call("bash", command=with_hidden_tests(task)))
    assert obs.startswith("5 passed")  # FAIL_TO_PASS and PASS_TO_PASS pass
    obs, reward, terminated, truncated, info = env.step(action)  # submit: graded through the local provider
    assert info["submitted"] and info["grade"]["infra_error"] == info["infra_error"]
    assert REPO_IN_IMAGE in info["infra_error"]  # the grader looked for the image's pristine repository
    assert (reward, terminated, truncated) == (0.0, False, True)  # infrastructure: never scored


def test_an_episode_that_runs_out_of_steps_scores_zero(local_env):
    env = local_env(max_steps=2, grade_on_truncation=False)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(call("bash", command="true"))
    assert (reward, terminated, truncated) == (0.0, False, False)
    _, reward, terminated, truncated, info = env.step(call("bash", command="true"))
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert info["truncated_by"] == "the step limit" and "grade" not in info and "infra_error" not in info


def test_the_provider_is_chosen_by_name_and_the_local_one_only_explicitly(demo, no_docker):
    task, provider = demo
    with pytest.raises(ValueError, match="unknown sandbox provider 'podman'; choose one of docker, local"):
        SWEEnv(task, client=provider, sandbox_provider="podman")
    with pytest.raises(ValueError, match="given a local sandbox provider, but its config names 'docker'"):
        SWEEnv(task, client=provider)  # the config's default is docker: a local provider is never implied
    with pytest.raises(ValueError, match="cannot change per episode"):
        env = SWEEnv(task, client=provider, sandbox_provider="local", pool_size=0)
        try:
            env.reset(options={"config": {"sandbox_provider": "docker"}})
        finally:
            env.close()
