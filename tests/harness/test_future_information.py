"""No future information: when the environment-setup commit is later than the base commit, nothing the
agent can read in the task's sandbox comes from the later commit.

A fixture repository whose setup commit adds a module, a changelog that the package's metadata
takes as its description, bytecode of the new module and a build/ copy of the sources; a task on
the earlier commit is built for real (environment and task images), and the agent, searching the
whole file system, finds none of it, while root (the harness) still can read the environment's
record and the package still imports.
"""

from __future__ import annotations

import pytest
from fixture_calc import PYPROJECT, commit_buggy_calc, git
from swefarm.harness.images import sandbox_config
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.tasks.models import Environment, Task

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MARKER = "SWEFARM-LATER-COMMIT-7f3a"  # in every later file's content
LATER_MODULE = "later_only"  # the name of the module the setup commit adds
CHANGES = f"# Changes\n\n- {MARKER}: add() adds now (the fix for the task's issue)\n"
SEARCH = f"grep -rlas --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -e {MARKER} -e {LATER_MODULE} / | head"


@pytest.fixture(scope="module")
def later_setup_task(tmp_path_factory, docker_client):
    repo = tmp_path_factory.mktemp("repos") / "calc-later"
    base = commit_buggy_calc(repo)
    (repo / f"src/calc/{LATER_MODULE}.py").write_text(f"NOTE = {MARKER!r}\n")
    (repo / "CHANGES.md").write_text(CHANGES)
    (repo / "pyproject.toml").write_text(PYPROJECT.replace('version = "0.1"', 'version = "0.1"\nreadme = "CHANGES.md"'))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "environment setup, later than the base")
    later = git(repo, "rev-parse", "HEAD").strip()
    task = Task(
        instance_id="fixture__calc-later-setup",
        repo="fixture/calc-later",
        base_commit=base,
        environment_setup_commit=later,
        patch="",
        test_patch="",
        problem_statement="add() subtracts",
        created_at="2024-03-01T12:00:00Z",
        environment=Environment(
            python="3.11",
            install=[
                "uv pip install -e .",
                f"python -c 'import calc.{LATER_MODULE}'",  # bytecode of the later module in the tree
                "mkdir -p build/lib && cp -r src/calc build/lib/",  # a build directory copying the sources
            ],
            log_parser="pytest",
        ),
    )
    from swefarm.harness.pipeline import build_task

    built, outcome = build_task(docker_client, task, {"fixture/calc-later": repo}, log=lambda *a: None)
    assert outcome.ok, built.status_reason
    return built


def test_the_agent_reads_nothing_from_the_later_setup_commit(docker_client, later_setup_task):
    with DockerSandbox(docker_client, later_setup_task.environment.image, sandbox_config()) as sb:
        found = sb.run(SEARCH, timeout=300)
        assert found.output == "", f"the agent can read what the later commit holds:\n{found.output}"
        # it was there to find: the environment's own record names the later module, for root only
        record = sb.run_stateless("cat /opt/swefarm/env-tracked.txt", user="root").output
        assert f"src/calc/{LATER_MODULE}.py" in record
        assert "Permission denied" in sb.run("cat /opt/swefarm/env-tracked.txt").output
        # the workspace is the base commit with the build's artefacts, minus what they said of the later tree
        sources = sb.run("cat src/calc.egg-info/SOURCES.txt").output.split()
        assert "src/calc/__init__.py" in sources and "pyproject.toml" in sources
        assert sb.run("ls build src/calc/__pycache__ 2>&1; git status --porcelain").output.count("No such file") == 2
        res = sb.run("python -c 'import calc, importlib.metadata as m; print(calc.add(2, 3), m.version(\"calc\"))'")
        assert res.output == "-1 0.1\n", res.output  # the base commit's code, installed
