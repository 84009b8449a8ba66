"""Perturbed envs on the real engine: gymnasium.make(..., perturb=...), the tools family's interface,
layout noise in the container but not in the graded diff, grading unchanged by it, tool responses."""

from __future__ import annotations

import json

import gymnasium
import pytest
from swefarm.envs.models import ToolCall
from swefarm.policy.episode import play
from swefarm.policy.scripted import EmptyPolicy, OraclePolicy

from swefarm import perturb

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CALC = "fixture__calc-2"
ALL_LAYOUT = {"layout": {"min_kinds": 5, "cwds": ["noise"]}}


def test_make_sampler_with_perturb_all_is_seeded_reproducible_and_recorded(perturb_store, docker_client):
    from swefarm.envs.pools import wait_closed

    from swefarm import envs

    envs.register_envs()
    made = []
    try:
        for _ in range(2):
            env = gymnasium.make(
                "swe/Sampler-v0", dataset=str(perturb_store), perturb="all", seed=21, client=docker_client, pool_size=1
            )
            made.append(env)
        (obs_a, info_a), (obs_b, info_b) = (env.reset() for env in made)
        assert [r["family"] for r in info_a["perturbation"]] == ["system", "tools", "user", "layout", "responses"]
        assert json.dumps(info_a["perturbation"]) == json.dumps(info_b["perturbation"])
        assert obs_a == obs_b and info_a["tools"] == info_b["tools"] and info_a["task"] == info_b["task"]
        obs_c, info_c = made[0].reset(seed=22)
        assert info_c["perturbation"] != info_a["perturbation"]
        assert isinstance(made[0].unwrapped, envs.swe_env.SamplerEnv)
        task_env = gymnasium.make(
            "swe/Task-v0", task=CALC, store=str(perturb_store), perturb="tools", client=docker_client, pool_size=1
        )
        made.append(task_env)
        _, info = task_env.reset(seed=1)
        assert [r["family"] for r in info["perturbation"]] == ["tools"]
    finally:
        for env in made:
            env.close()
        wait_closed()


def test_the_env_accepts_exactly_the_perturbed_interface(task_envs):
    spec = {"tools": {"tool_sets": ["editor"], "formats": ["hermes"], "rename_p": 1.0, "argument_rename_p": 1.0}}
    env = perturb.wrap(task_envs[CALC], spec, seed=8)
    obs, info = env.reset()
    names = {entry["kind"]: name for name, entry in info["tool_interface"].items()}
    args = {entry["kind"]: entry["arguments"] for entry in info["tool_interface"].values()}
    bash, cmd = names["bash"], args["bash"]["command"]
    assert bash != "bash" and cmd != "command"
    fmt = env.unwrapped.format

    obs, *_ = env.step(fmt.render([ToolCall(bash, {cmd: "echo perturbed-ok"})]))
    assert "perturbed-ok" in obs

    obs, _, _, _, info = env.step(fmt.render([ToolCall(bash, {"command": "echo old-argument"})]))
    assert "old-argument" not in obs.replace('"echo old-argument"', "")
    assert f"{bash} needs the argument(s) {cmd}" in obs and info["tool_results"][0]["error"]

    obs, _, _, _, info = env.step(fmt.render([ToolCall("bash", {"command": "echo old-name"})]))
    assert obs.startswith("Error: there is no tool called 'bash'") and bash in obs

    obs, *_ = env.step({"name": "bash", "arguments": {"command": "echo structured"}})  # a structured call too
    assert obs.startswith("Error: there is no tool 'bash'") and bash in obs
    assert "structured" not in obs.split("tools are")[0]


def test_a_v4a_block_through_a_renamed_apply_patch_in_minimax_resolves_the_task(task_envs):
    spec = {"tools": {"tool_sets": ["apply_patch"], "formats": ["minimax"], "rename_p": 1.0}}
    env = perturb.wrap(task_envs[CALC], spec, seed=2)
    obs, info = env.reset()
    names = {entry["kind"]: name for name, entry in info["tool_interface"].items()}
    patch_arg = info["tool_interface"][names["apply_patch"]]["arguments"]["patch"]
    block = "*** Begin Patch\n*** Update File: src/calc/__init__.py\n@@ def add(a, b):\n-    return a - b\n"
    block += "+    return a + b\n*** End Patch"
    fmt = env.unwrapped.format
    obs, *_ = env.step(fmt.render([ToolCall(names["apply_patch"], {patch_arg: block})]))
    assert "Patch applied" in obs
    obs, reward, terminated, truncated, info = env.step(fmt.render([ToolCall(names["submit"], {})]))
    assert terminated and reward == 1.0


def test_layout_noise_is_in_the_container_not_in_the_diff_and_holds_nothing_of_the_task(task_envs, fixture_tasks):
    task = fixture_tasks[CALC]
    env = perturb.wrap(task_envs[CALC], ALL_LAYOUT, seed=4)
    obs, info = env.reset()
    params = info["perturbation"][0]["params"]
    assert params["kinds"] == ["clutter", "build", "nested", "vendored", "notes"]
    obs, *_ = env.step({"name": "bash", "arguments": {"command": "pwd"}})
    assert obs.strip() != "/testbed" and obs.startswith("/testbed/")  # the shell starts in a noise directory
    find = "cd /testbed && find . -path ./.git -prune -o -type f -print | sort"
    files, *_ = env.step({"name": "bash", "arguments": {"command": find}})
    for expected in ("./build/lib/calc/__init__.py", "./dist/calc-0.0.1.dev0.tar.gz", "/VENDORED.txt", ".pyc"):
        assert expected in files
    assert len(files.splitlines()) > 15  # clutter, notes and nested noise too
    status, *_ = env.step({"name": "bash", "arguments": {"command": "git status --porcelain; echo END"}})
    assert status.strip() == "END"  # git sees none of it
    sandbox = env.unwrapped._sandbox
    assert sandbox.diff() == ""  # so the graded diff is empty
    noise = sandbox.run("cd /testbed && cat $(git ls-files --others --ignored --exclude-standard) 2>/dev/null").output
    added = [line[1:] for line in task.patch.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert noise and not any(line.strip() and line in noise for line in added)  # no gold patch in the noise
    assert "test_add" not in noise  # nor the hidden tests


def test_grading_is_identical_with_and_without_layout_noise(task_envs, fixture_tasks):
    def graded(tid, policy, spec):
        env = perturb.wrap(task_envs[tid], spec, seed=9)
        episode = play(env, policy, seed=9, max_actions=30)
        diff = env.unwrapped._sandbox.diff()
        grade = {k: v for k, v in episode.info["grade"].items() if k not in ("duration", "log_tail")}
        return episode.reward, grade, diff

    for tid, task in fixture_tasks.items():
        clean = graded(tid, OraclePolicy(task.patch), None)
        noisy = graded(tid, OraclePolicy(task.patch), ALL_LAYOUT)
        assert clean == noisy and clean[0] == 1.0 and clean[2]
    clean = graded(CALC, EmptyPolicy(), None)
    noisy = graded(CALC, EmptyPolicy(), ALL_LAYOUT)
    assert clean == noisy and clean[0] == 0.0 and clean[2] == ""


def test_tool_responses_are_reworded_but_keep_the_exit_code_and_the_output(task_envs):
    spec = {"responses": {"styles": ["returncode"], "ansi_p": 1.0, "warning_p": 0.0, "transient_p": 0.0}}
    env = perturb.wrap(task_envs[CALC], spec, seed=6)
    env.reset()
    obs, _, _, _, info = env.step({"name": "bash", "arguments": {"command": "echo real-output; exit 3"}})
    assert "real-output" in obs and "<returncode>3</returncode>" in obs and "[exit code 3]" not in obs
    assert info["tool_results"][0] == {
        "name": "bash",
        "error": True,
        "exit_code": 3,
        "timed_out": False,
        "transient": False,
    }
    obs, _, _, _, info = env.step({"name": "nope", "arguments": {}})
    assert "\x1b[31m" in obs and "there is no tool 'nope'" in obs


def test_transient_failures_are_marked_carry_a_retry_hint_and_run_nothing(task_envs):
    env = perturb.wrap(task_envs[CALC], {"responses": {"transient_p": 1.0, "jitter_s": 0}}, seed=6)
    env.reset()
    obs, _, _, _, info = env.step({"name": "bash", "arguments": {"command": "touch /testbed/RAN"}})
    assert info["tool_results"][0]["transient"] and info["tool_results"][0]["error"] and "retry" in obs.lower()
    obs, _, _, _, info = env.step({"name": "bash", "arguments": {"command": "ls /testbed/RAN || echo absent"}})
    assert not info["tool_results"][0]["transient"] and "absent" in obs  # the failed call never ran
