"""End to end, against the real things: PyGithub reads a GitHub-compatible server on 127.0.0.1, the
miner builds real images with the real Docker engine and validates the tasks, mining again adds
nothing, and an episode on a mined task where the oracle applies the gold patch scores 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import gymnasium
import pytest
from fixture_history import make_history
from github_server import GitHubServer
from swefarm.miner.filters import FilterConfig
from swefarm.miner.github_api import GitHubAPI
from swefarm.miner.github_source import GitHubSource
from swefarm.miner.pipeline import MineOptions, Miner
from swefarm.miner.state import MinerState
from swefarm.tasks.models import TaskStatus
from swefarm.tasks.store import TaskStore

pytestmark = [pytest.mark.docker, pytest.mark.slow]

VALID = {"acme__widgets-2", "acme__widgets-5", "acme__widgets-8", "acme__widgets-14"}
REJECTED = {"pr-3": "docs_only", "pr-6": "no_test_change", "pr-9": "binary_files", "pr-11": "no_linked_issue"}


@pytest.fixture(scope="module")
def mined(tmp_path_factory, docker_client):
    """Mine the fixture repository through the test server into a fresh store, with builds and validation."""
    root = tmp_path_factory.mktemp("mine")
    history = make_history(root)
    store, state = TaskStore(root / "tasks.db"), MinerState(root / "miner.db")
    with GitHubServer(history) as server:

        def mine():
            api = GitHubAPI(server.token, server.base_url, cache_path=root / "cache.db", on_wait=lambda s, w: None)
            try:
                source = GitHubSource(api, history.repo)
                options = MineOptions(workers=4, build_workers=2, validate_workers=2, runs=2)
                miner = Miner(source, lambda: history.path, store, state, FilterConfig(), options, docker_client)
                return miner.run()
            finally:
                api.close()

        first = mine()
        served_before = len(server.requests)
        second = mine()
        second_requests = server.requests[served_before:]
    yield dict(history=history, store=store, state=state, first=first, second=second, requests=second_requests)
    state.close()


def test_mining_keeps_the_fixes_and_says_why_the_rest_were_dropped(mined):
    first, store, state = mined["first"], mined["store"], mined["state"]
    assert first.candidates == 8 and first.tasks == 4 and first.built == 4 and first.valid == 4
    assert {t.instance_id for t in store.list(status=TaskStatus.VALID)} == VALID
    rows = {r.key: r for r in state.rows("acme/widgets")}
    assert {k: r.code for k, r in rows.items() if r.code} == REJECTED
    funnel = state.funnel("acme/widgets")
    assert [s.reached for s in funnel.stages] == [8, 7, 4, 4, 4]
    assert funnel.yield_pct == 50.0


def test_mined_tasks_carry_the_issue_the_tests_and_where_they_came_from(mined):
    history, store = mined["history"], mined["store"]
    task = store.get("acme__widgets-8")  # linked only through GitHub's "connected" timeline event
    issue = history.issue(7)
    assert task.problem_statement.startswith(issue["title"])
    assert task.FAIL_TO_PASS == ["tests/test_widgets.py::test_parse_size_lower_case"]
    assert "tests/test_widgets.py::test_clamp_inside_and_outside" in task.PASS_TO_PASS
    assert task.provenance.pr_number == 8 and task.provenance.issue_numbers == [7]
    assert task.provenance.license == "MIT" and task.provenance.source == "mined:github"
    assert "tests/" not in task.patch and task.test_files() == ["tests/test_widgets.py"]
    assert task.environment.image and task.status == TaskStatus.VALID
    assert len(task.provenance.validation_runs) >= 3  # base, and two gold runs


def test_mining_again_adds_nothing_and_spends_almost_no_calls(mined):
    second, requests = mined["second"], mined["requests"]
    assert second.candidates == 8 and second.known == 8
    assert second.tasks == second.built == second.valid == 0
    pulls = [r for r in requests if "/pulls?" in r.path]
    assert pulls and all(r.not_modified for r in pulls)  # the list came back 304: no budget spent
    assert not [r for r in requests if "/issues/" in r.path or "/commits" in r.path]
    assert len(mined["store"].list()) == 4


def test_an_episode_on_a_mined_task_scores_one_with_the_gold_patch(mined, docker_client):
    from swefarm.envs.pools import wait_closed
    from swefarm.policy.episode import play
    from swefarm.policy.scripted import OraclePolicy

    task = mined["store"].get("acme__widgets-5")
    env = gymnasium.make("swe/Task-v0", task=task, client=docker_client)
    try:
        episode = play(env, OraclePolicy(task.patch))
    finally:
        env.close()
        wait_closed()
    assert episode.terminated and episode.reward == 1.0
    assert episode.info["reward_components"]["resolved"] == 1.0


def test_the_cli_mines_a_local_history_and_writes_the_report(tmp_path):
    """`swefarm mine git` then `swefarm mine report --html`, as a user runs them (no builds: the
    GitHub test above built and validated; this checks the commands, options and report)."""
    history = make_history(tmp_path / "src")
    env = {**os.environ, "SWEFARM_HOME": str(tmp_path / "home"), "PYTHONPATH": os.getcwd()}
    cli = [sys.executable, "-m", "swefarm.cli.main"]
    args = ["mine", "git", str(history.path), "--repo", "acme/widgets", "--no-build", "--require-issue"]
    done = subprocess.run(cli + args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "license MIT" in done.stdout and "4 new tasks" in done.stdout
    again = subprocess.run(cli + args, env=env, capture_output=True, text=True, timeout=120)
    assert "5 known from earlier runs" in again.stdout and "0 new tasks" in again.stdout
    html = tmp_path / "report" / "funnel.html"
    report = subprocess.run(
        cli + ["mine", "report", "--repo", "acme/widgets", "--html", str(html), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout[: report.stdout.rindex("}") + 1])
    assert data["candidates"] == 9 and [s["reached"] for s in data["stages"]][:3] == [9, 6, 4]
    assert "<svg" in html.read_text()
    bad = subprocess.run(
        cli + ["mine", "git", str(history.path), "--repo", "nope"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "OWNER/NAME" in bad.stdout
