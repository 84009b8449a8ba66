"""SWEEnv against the real engine: the Gymnasium contract, every tool and format, malformed actions,
rewards (oracle = 1, empty = 0), limits, infrastructure failures."""

from __future__ import annotations

import json
import time

import gymnasium
import pytest
from swefarm.envs.models import ToolCall
from swefarm.policy.episode import play
from swefarm.policy.scripted import EmptyPolicy, OraclePolicy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FORMATS = ["hermes", "minimax", "bash"]


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def test_passes_gymnasiums_env_checker(calc_store, valid_calc_task, docker_client):
    from gymnasium.utils.env_checker import check_env

    from swefarm import envs

    envs.register_envs(calc_store)
    env = gymnasium.make(envs.env_id(valid_calc_task.instance_id))
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_reset_gives_the_issue_tools_and_a_repository_at_the_base_commit(make_env, valid_calc_task):
    env = make_env()
    obs, info = env.reset(seed=1)
    assert valid_calc_task.problem_statement in obs
    assert [m["role"] for m in info["messages"]] == ["system", "user"]
    assert valid_calc_task.problem_statement in info["messages"][1]["content"]
    names = [spec["function"]["name"] for spec in info["tools"]]
    assert names == ["bash", "str_replace_editor", "search", "submit"]
    assert all(spec["type"] == "function" and "parameters" in spec["function"] for spec in info["tools"])
    assert info["task"]["instance_id"] == valid_calc_task.instance_id
    hidden = json.dumps(info)
    assert valid_calc_task.patch not in hidden and "test_add" not in hidden  # no gold patch, no hidden test names
    obs, *_ = env.step(call("bash", command="cat src/calc/__init__.py; git log --all --oneline | wc -l; git tag"))
    assert "return a - b" in obs  # the bug is there
    assert obs.split("return a * b")[1].split() == ["1"]  # one commit in all, no tags: no future history
    obs, *_ = env.step(call("bash", command="grep -c test_add tests/test_calc.py"))
    assert obs.startswith("0")  # the hidden tests are not in the tree


def test_each_reset_is_a_fresh_sandbox(make_env):
    env = make_env()
    env.reset()
    env.step(call("bash", command="echo dirty > src/calc/__init__.py && export MARK=1"))
    env.reset()
    obs, *_ = env.step(call("bash", command="cat src/calc/__init__.py; echo MARK=$MARK"))
    assert "return a - b" in obs and "MARK=\n" in obs + "\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_raw_text_in_each_format_runs_bash_in_a_persistent_shell(make_env, fmt):
    from swefarm.envs.formats import get_format

    env = make_env(tool_format=fmt)
    obs, info = env.reset()
    assert info["tool_format"] == fmt
    text = get_format(fmt).render([ToolCall("bash", {"command": "cd src && export X=42"})], thinking="look around")
    obs, reward, terminated, truncated, info = env.step(text)
    assert (reward, terminated, truncated) == (0.0, False, False)
    text = get_format(fmt).render([ToolCall("bash", {"command": "pwd; echo X=$X"})])
    obs, *_ = env.step(text)
    assert "/testbed/src" in obs and "X=42" in obs
    assert info["messages"][-2]["role"] == "assistant" and info["messages"][-2]["content"].startswith("<think>")


def test_minimax_parallel_calls_all_run_in_order(make_env):
    env = make_env(tool_format="minimax")
    env.reset()
    text = (
        "<think>two at once</think>\n<minimax:tool_call>\n"
        '<invoke name="bash"><parameter name="command">echo one</parameter></invoke>\n'
        '<invoke name="bash"><parameter name="command">echo two</parameter></invoke>\n'
        "</minimax:tool_call>"
    )
    obs, _, _, _, info = env.step(text)
    assert obs.index("one") < obs.index("two")
    assert [r["name"] for r in info["tool_results"]] == ["bash", "bash"]
    assert len(info["messages"][-3]["tool_calls"]) == 2
    assert [m["role"] for m in info["messages"][-2:]] == ["tool", "tool"]


def test_calls_inside_thinking_are_not_run(make_env):
    env = make_env()
    env.reset()
    text = '<think><tool_call>{"name": "bash", "arguments": {"command": "touch /testbed/BAD"}}</tool_call></think>'
    obs, *_ = env.step(text)
    assert obs.startswith("Error")
    obs, *_ = env.step(call("bash", command="ls /testbed/BAD"))
    assert "No such file" in obs


def test_editor_view_edit_insert_undo_and_search_through_step(make_env):
    env = make_env()
    env.reset()
    editor = "str_replace_editor"
    obs, *_ = env.step(call(editor, command="view", path="src/calc/__init__.py"))
    assert "1\tdef add(a, b):" in obs
    obs, *_ = env.step(
        call(editor, command="str_replace", path="src/calc/__init__.py", old_str="a - b", new_str="a + b")
    )
    assert "a + b" in obs
    env.step(call(editor, command="insert", path="src/calc/__init__.py", insert_line=0, new_str="# fixed\n"))
    obs, *_ = env.step(call("bash", command="head -1 src/calc/__init__.py"))
    assert obs.startswith("# fixed")
    env.step(call(editor, command="undo_edit", path="src/calc/__init__.py"))
    obs, *_ = env.step(call(editor, command="create", path="NOTES.md", file_text="hello\n"))
    obs, *_ = env.step(call("search", pattern="a \\+ b", include="*.py"))
    assert "src/calc/__init__.py:2:" in obs
    obs, *_ = env.step(call("bash", command="git status --short"))
    assert "M src/calc/__init__.py" in obs and "?? NOTES.md" in obs


@pytest.mark.parametrize(
    "action",
    [
        "",
        "just some words, no call",
        "<tool_call>{not json}</tool_call>",
        '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>',
        '<tool_call>{"name": "bash", "arguments": {"cmd": "ls"}}</tool_call>',
        '<tool_call>{"name": "bash", "arguments": {"command": 7}}</tool_call>',
        "<tool_call>" * 1000,
        "\x00\ud800 binary-ish",
        12,
        None,
        [1, 2],
        {"weird": True},
        {"name": "bash", "arguments": "{broken"},
        {"content": "hi", "model_time_s": -1},
        {"name": "str_replace_editor", "arguments": {"command": "view", "path": "/nope"}},
        {"name": "str_replace_editor", "arguments": {"command": "explode", "path": "x"}},
    ],
)
def test_malformed_actions_get_an_explanation_and_count_as_a_step(make_env, action):
    env = make_env(max_steps=5)
    env.reset()
    obs, reward, terminated, truncated, info = env.step(action)
    assert isinstance(obs, str) and obs
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["step"] == 1
    assert any(r["error"] for r in info["tool_results"])
    obs, *_ = env.step(call("bash", command="echo still alive"))
    assert "still alive" in obs


@pytest.mark.parametrize("fmt", FORMATS)
def test_oracle_scores_one_and_empty_scores_zero(make_env, valid_calc_task, fmt):
    env = make_env(tool_format=fmt)
    oracle = play(env, OraclePolicy(valid_calc_task.patch))
    assert oracle.terminated and not oracle.truncated
    assert oracle.reward == 1.0
    assert oracle.info["reward_components"] == {"resolved": 1.0}
    assert oracle.info["grade"]["fail_to_pass_passed"] == len(valid_calc_task.FAIL_TO_PASS)
    assert oracle.info["outcome"]["submitted"] is True
    timing = oracle.info["timing"]
    assert timing["env_s"] > 0 and timing["grade_s"] > 0 and timing["wall_s"] >= timing["env_s"]
    empty = play(env, EmptyPolicy())
    assert empty.terminated and empty.reward == 0.0 and empty.steps == 1
    assert empty.info["reward_components"] == {"resolved": 0.0}
    assert "infra_error" not in empty.info


def test_the_oracle_falls_back_to_git_apply_without_an_editor(make_env, valid_calc_task):
    env = make_env(tools=["bash", "submit"])
    episode = play(env, OraclePolicy(valid_calc_task.patch))
    assert episode.reward == 1.0
    assert "git apply" in episode.actions[0]


def test_max_steps_truncates_and_grades_the_tree(make_env):
    env = make_env(max_steps=2)
    env.reset()
    env.step(call("bash", command="sed -i 's/a - b/a + b/' src/calc/__init__.py"))
    obs, reward, terminated, truncated, info = env.step(call("bash", command="true"))
    assert (terminated, truncated) == (False, True)
    assert info["truncated_by"] == "the step limit"
    assert reward == 1.0  # graded as it stood: the fix is there
    obs, reward, terminated, truncated, info = env.step(call("bash", command="true"))
    assert "ended" in obs and reward == 0.0


def test_reported_model_time_counts_against_the_budget_and_the_speed_reward(make_env, valid_calc_task):
    env = make_env(wall_clock_budget_s=100, reward="fast")
    env.reset()
    edit = {"name": "str_replace_editor", "arguments": {"command": "str_replace", "path": "src/calc/__init__.py",
                                                        "old_str": "a - b", "new_str": "a + b"}}  # fmt: skip
    env.step({"tool_calls": [edit], "model_time_s": 40.0, "tokens": 120})
    obs, reward, terminated, truncated, info = env.step({"tool_calls": [call("submit")], "model_time_s": 10.0})
    assert terminated
    wall = info["timing"]["wall_s"]
    assert 50 < wall < 60 and info["timing"]["model_s"] == 50.0
    assert info["reward_values"]["speed"] == pytest.approx(1 - wall / 100, abs=1e-6)
    assert reward == pytest.approx(1 + 0.5 * info["reward_values"]["speed"])
    assert info["outcome"]["tokens"] == 120
    env.reset()
    obs, reward, terminated, truncated, info = env.step({"content": "thinking slowly", "model_time_s": 150.0})
    assert truncated and info["truncated_by"] == "the wall-clock budget" and reward == 0.0


def test_an_infrastructure_failure_is_flagged_and_never_scored(make_env):
    env = make_env()
    env.reset()
    env.unwrapped._sandbox.container.kill()
    obs, reward, terminated, truncated, info = env.step(call("bash", command="echo hi"))
    assert info["infra_error"]
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert info["reward_components"] == {}
    obs, info = env.reset()  # and the env recovers with a fresh sandbox
    obs, *_ = env.step(call("bash", command="echo back"))
    assert "back" in obs


PID_HOG = (  # a daemon outside the shell's session that keeps every pid of the sandbox taken
    "setsid python3 -c 'import os, time\nwhile True:\n    try:\n        os.fork() or time.sleep(600)\n"
    "    except OSError:\n        time.sleep(0.001)' >/dev/null 2>&1 &"
)


@pytest.mark.slow
def test_processes_the_agent_left_running_cannot_stop_the_grading(make_env):
    env = make_env()
    env.reset()
    env.step(call("bash", command="sed -i 's/a - b/a + b/' src/calc/__init__.py"))
    env.step(call("bash", command="setsid nohup sh -c 'while :; do touch src/calc/late.py; sleep 0.05; done' &"))
    env.step(call("bash", command=PID_HOG))
    time.sleep(3)  # the daemon takes every pid meanwhile
    obs, *_ = env.step(call("str_replace_editor", command="view", path="src/calc/__init__.py"))
    assert "process limit" in obs, obs  # the agent reads what it did, no infrastructure error
    obs, reward, terminated, truncated, info = env.step(call("submit"))
    assert "infra_error" not in info, info.get("infra_error")
    assert terminated and reward == 1.0  # the change was read and graded, whatever was left running


def test_render_ansi_shows_the_transcript(make_env):
    env = make_env(render_mode="ansi")
    env.reset()
    env.step(call("bash", command="echo rendered"))
    assert "[tool] rendered" in env.render()


def test_a_reset_that_fails_leaves_the_env_asking_for_a_new_reset(make_env, monkeypatch):
    from swefarm.sandbox.errors import SandboxError

    env = make_env()
    env.reset()
    env.step(call("bash", command="true"))

    def no_sandbox(task):
        raise SandboxError("the engine went away")

    monkeypatch.setattr(env, "_take_sandbox", no_sandbox)
    with pytest.raises(SandboxError, match="went away"):
        env.reset()
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step(call("bash", command="true"))
    monkeypatch.undo()
    env.reset()
    obs, *_ = env.step(call("bash", command="echo recovered"))
    assert "recovered" in obs


def test_a_bad_sandbox_option_is_refused_when_the_env_is_made(make_env):
    with pytest.raises(ValueError, match="memry"):
        make_env(sandbox={"memry": "1g"})


def test_grading_honours_the_envs_resource_limits_but_keeps_its_own_sealing(make_env, monkeypatch):
    from swefarm.harness import grade as grading

    seen = []
    real = grading.grade

    def spy(*args, **kwargs):
        seen.append(kwargs["sandbox"])
        return real(*args, **kwargs)

    monkeypatch.setattr(grading, "grade", spy)
    env = make_env(sandbox={"memory": "1536m", "pids_limit": 300})
    episode = play(env, EmptyPolicy())
    assert episode.terminated and "grade" in episode.info
    (box,) = seen
    assert (box.memory, box.pids_limit, box.network, box.uid) == ("1536m", 300, False, 1000)
