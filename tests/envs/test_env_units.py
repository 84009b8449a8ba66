"""Fast unit tests of the env's pieces that need no engine: configuration, action decoding, spaces."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from swefarm.envs.actions import decode
from swefarm.envs.config import EnvConfig
from swefarm.envs.formats import get_format
from swefarm.envs.models import ToolCall
from swefarm.envs.spaces import AnyText
from swefarm.envs.tools import make_tools

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
