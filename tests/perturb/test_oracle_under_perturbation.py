"""A perturbation never makes a task unsolvable: the oracle resolves every fixture task under every family,
every tool set and call format, and a sampled set of combinations (the real engine, real grading)."""

from __future__ import annotations

import random

import pytest
from swefarm.policy.episode import play
from swefarm.policy.scripted import OraclePolicy

from swefarm import perturb

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FAMILIES = ["system", "tools", "user", "layout", "responses"]


def resolve(env, task, seed):
    episode = play(env, OraclePolicy(task.patch), seed=seed, max_actions=30)
    info = episode.info
    assert "infra_error" not in info, info["infra_error"]
    assert episode.reward == 1.0 and info["outcome"]["resolved"], (info.get("grade"), info["perturbation"])
    return info


@pytest.mark.parametrize("family", FAMILIES)
def test_the_oracle_resolves_every_fixture_task_under_each_family(task_envs, fixture_tasks, family):
    for tid, task in fixture_tasks.items():
        info = resolve(perturb.wrap(task_envs[tid], family, seed=17), task, seed=17)
        assert [r["family"] for r in info["perturbation"]] == [family]


@pytest.mark.parametrize(
    "tool_set, fmt",
    [
        ("bash_only", "bash"),
        ("bash_only", "hermes"),
        ("editor", "minimax"),
        ("editor_search", "hermes"),
        ("apply_patch", "hermes"),
        ("apply_patch_search", "minimax"),
    ],
)
def test_the_oracle_resolves_under_every_tool_set_and_call_format(task_envs, fixture_tasks, tool_set, fmt):
    tid = "swefarm-demo__slugify-7"  # two hunks: the editor makes two edits, apply_patch one
    spec = {"tools": {"tool_sets": [tool_set], "formats": [fmt], "rename_p": 1.0, "argument_rename_p": 1.0}}
    info = resolve(perturb.wrap(task_envs[tid], spec, seed=3), fixture_tasks[tid], seed=3)
    params = info["perturbation"][0]["params"]
    assert params["tool_set"] == tool_set and params["tool_format"] == fmt
    assert set(params["tools"]) == set(perturb.tools.TOOL_SETS[tool_set])
    called = {m["name"] for m in info["messages"] if m["role"] == "tool"}
    assert called <= set(params["tool_names"].values())  # the oracle called the tools by their new names
    assert not called & {"bash", "str_replace_editor", "submit", "apply_patch"}  # every tool was renamed


def _combinations(n: int) -> list[list[str]]:
    rng = random.Random(2024)
    return [sorted(rng.sample(FAMILIES, rng.randint(2, 4)), key=FAMILIES.index) for _ in range(n)] + [FAMILIES]


@pytest.mark.parametrize("families", _combinations(3), ids=lambda f: "+".join(f))
def test_the_oracle_resolves_every_fixture_task_under_sampled_combinations(task_envs, fixture_tasks, families):
    for seed, (tid, task) in enumerate(fixture_tasks.items(), start=40):
        info = resolve(perturb.wrap(task_envs[tid], ",".join(families), seed=seed), task, seed=seed)
        assert [r["family"] for r in info["perturbation"]] == families


def test_the_oracle_retries_transient_failures_and_still_resolves(task_envs, fixture_tasks):
    tid = "fixture__calc-2"
    env = perturb.wrap(task_envs[tid], {"responses": {"transient_p": 1.0, "jitter_s": 0}}, seed=5)
    episode = play(env, OraclePolicy(fixture_tasks[tid].patch), seed=5, max_actions=30)
    assert episode.reward == 1.0
    transient = [m for m in episode.info["messages"] if m["role"] == "tool" and "retry" in m["content"].lower()]
    assert len(transient) >= 2  # every other call failed, the submit included, and was sent again
    assert episode.steps == 2 * len(transient) or episode.steps == 2 * len(transient) - 1
