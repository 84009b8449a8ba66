"""Fast unit tests of the env's pieces that need no engine: configuration, action decoding, spaces."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from swefarm.envs.actions import decode
from swefarm.envs.config import EnvConfig
from swefarm.envs.formats import get_format
from swefarm.envs.models import ToolCall
from swefarm.envs.spaces import AnyText
from swefarm.envs.tools import make_tools, tool_interface

TOOLS = [tool.spec for tool in make_tools(["bash", "editor", "submit"]).values()]
HERMES = get_format("hermes")
CALL = '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>'


def parse(text):
    return HERMES.parse(text, TOOLS)


def test_config_defaults_and_overrides():
    config = EnvConfig.load()
    assert config.tools == ["bash", "editor", "search", "submit"] and config.tool_format == "hermes"
    assert config.reward.weights == {"resolved": 1.0}
    assert config.reward_spec.speed_budget_s == config.wall_clock_budget_s  # speed runs out with the episode
    config = EnvConfig.load({"max_steps": 7}, tool_format="minimax", reward="fast", wall_clock_budget_s=60)
    assert (config.max_steps, config.tool_format, config.reward.weights["speed"]) == (7, "minimax", 0.5)
    assert config.reward_spec.speed_budget_s == 60
    assert EnvConfig.load(config, wall_clock_budget_s=90).reward_spec.speed_budget_s == 90
    own = EnvConfig.load(reward={"weights": {"speed": 1}, "speed_budget_s": 30}, wall_clock_budget_s=60)
    assert own.reward_spec.speed_budget_s == 30


def test_config_from_a_yaml_file(tmp_path):
    path = tmp_path / "scaffold.yaml"
    path.write_text("tool_format: bash\ntools: [bash, submit]\nmax_steps: 12\nreward: partial\n")
    config = EnvConfig.load(str(path))
    assert (config.tool_format, config.tools, config.max_steps) == ("bash", ["bash", "submit"], 12)
    assert config.reward.weights["fail_to_pass_fraction"] == 0.5


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"tool_format": "xml"}, "unknown tool format"),
        ({"max_stepz": 3}, "max_stepz"),
        ({"max_steps": 0}, "max_steps"),
        ({"reward": "greedy"}, "unknown reward preset"),
        ({"reward": {"weights": {"vibes": 1}}}, "vibes"),
    ],
)
def test_bad_config_is_a_clear_error(bad, message):
    with pytest.raises((ValidationError, ValueError), match=message):
        EnvConfig.load(bad)


def test_unknown_tool_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown tool kind"):
        make_tools(["bash", "teleport"])
    with pytest.raises(ValueError, match="two tools"):
        make_tools(["bash", "submit"], {"submit": "bash"})
    with pytest.raises(ValueError, match="unknown tool option.*timeout"):
        make_tools(["bash"], timeout=5)  # misspelt: timeout_s; never dropped silently
    assert "timeout_s" in str(pytest.raises(ValueError, make_tools, ["bash"], timeout=5).value)


def test_the_env_and_a_policy_read_one_tool_call_format_from_one_config():
    from swefarm.policy.interface import episode_format

    config = EnvConfig(tool_format="bash", tool_names={"bash": "shell", "submit": "done"},
                       tool_arguments={"bash": {"command": "cmd"}}, tools=["bash", "submit"])  # fmt: skip
    env_side = config.call_format()
    tools = config.build_tools("/testbed")
    policy_side = episode_format({"tool_format": "bash", "tool_interface": tool_interface(tools)})
    assert (env_side.bash_tool, env_side.submit_tool, env_side.command_argument) == ("shell", "done", "cmd")
    assert vars(policy_side) == vars(env_side)


def test_decode_every_action_shape():
    text = '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>'
    assert decode(text, parse).calls == [ToolCall("bash", {"command": "ls"})]
    assert decode({"name": "bash", "arguments": {"command": "ls"}}, parse).calls[0].arguments == {"command": "ls"}
    openai = {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}
    assert decode(openai, parse).calls == [ToolCall("bash", {"command": "ls"}, "c1")]
    assert len(decode([openai, openai], parse).calls) == 2
    turn = decode({"content": text, "model_time_s": 1.5, "tokens": 40}, parse)
    assert (turn.calls[0].name, turn.model_time_s, turn.tokens, turn.text) == ("bash", 1.5, 40, text)
    turn = decode({"content": "<think>x</think>", "tool_calls": [openai]}, parse)
    assert turn.calls[0].id == "c1" and turn.text == "<think>x</think>"
    assert decode(ToolCall("submit"), parse).calls == [ToolCall("submit")]


@pytest.mark.parametrize(
    "action",
    [None, 3, 2.5, object(), [None], {"tool_calls": "x"}, {"name": ""}, {"name": "bash", "arguments": [1]},
     {"content": 5}, "no call", {"content": CALL, "tokens": "many"}, {"content": CALL, "model_time_s": float("nan")},
     {"content": CALL, "model_time_s": float("inf")}, {"content": CALL, "tokens": -1}],
)  # fmt: skip
def test_decode_never_raises_and_says_what_is_wrong(action):
    turn = decode(action, parse)
    assert turn.error and not turn.calls


def test_any_text_space_admits_any_unicode_up_to_its_length():
    space = AnyText(max_length=10, min_length=0)
    assert "é\x00✓" in space and "" in space
    assert "x" * 11 not in space and 5 not in space
    assert space.sample() in space


def test_registration_reads_ids_only_and_skips_ids_gymnasium_cannot_spell(tmp_path):
    import sqlite3

    import gymnasium

    from swefarm import envs

    path = tmp_path / "tasks.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tasks (instance_id TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO tasks VALUES (?)", [(f"o__r-{i}",) for i in range(500)] + [("has spaces 1",)])
    conn.commit()
    conn.close()
    assert envs.register_envs(path) == 500
    spec = gymnasium.spec("swe/o__r-7-v0")
    assert spec.kwargs == {"task": "o__r-7", "store": str(path)} and spec.nondeterministic
    assert envs.register_envs(tmp_path / "missing.db") == 0  # no store yet: nothing, and none created
    assert not (tmp_path / "missing.db").exists()


def test_the_sandbox_overrides_are_typed_and_a_misspelt_one_is_refused():
    config = EnvConfig(sandbox={"memory": "3g", "cpus": 2, "network": True})
    assert config.sandbox_overrides() == {"memory": "3g", "cpus": 2.0, "network": True}
    assert config.sandbox_overrides(grading=True) == {"memory": "3g", "cpus": 2.0}  # sealing stays the grader's
    with pytest.raises(ValidationError, match="memroy"):
        EnvConfig(sandbox={"memroy": "3g"})
    with pytest.raises(ValidationError, match="cpus"):
        EnvConfig(sandbox={"cpus": "lots"})
    assert EnvConfig.load(config).sandbox_overrides() == config.sandbox_overrides()


def test_the_agent_sees_only_the_public_view_of_a_task():
    from swefarm.api.contract.schemas import TaskPublic
    from swefarm.tasks.models import Task
    from swefarm.tasks.public import agent_view, public_view

    task = Task(instance_id="o__r-1", repo="o/r", base_commit="a" * 40, patch="GOLD", test_patch="TESTS",
                problem_statement="it breaks", FAIL_TO_PASS=["tests/test_x.py::test_secret_name"])  # fmt: skip
    assert set(TaskPublic.model_fields) == set(public_view(task))  # one place decides, the API shows exactly it
    assert set(agent_view(task)) < set(public_view(task))
    text = repr(public_view(task))
    assert "GOLD" not in text and "TESTS" not in text and "test_secret_name" not in text
