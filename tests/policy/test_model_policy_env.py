"""ModelPolicy against the real env with scripted model output: broken replies reach the env as they are
and the env explains them; a full context truncates the episode (graded, never cut silently)."""

from __future__ import annotations

import pytest
from policy_fakes import ScriptedEngine
from swefarm.policy.episode import play
from swefarm.policy.model_policy import ModelPolicy
from swefarm.policy.sampling import SamplingConfig

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BROKEN = {
    "unclosed think": ("hermes", "<think>\nI should look at calc.py, then", "No tool call found"),
    "invalid json": ("hermes", '<think>\nlook\n</think>\n<tool_call>\n{"name": "bash", "arguments": {"command": ls}}\n'
                     "</tool_call>", "JSON of tool call 1 is malformed"),
    "no tool call": ("minimax", "<think>\nhmm\n</think>\nI would run the tests now.", "No tool call found"),
    "bash without a block": ("bash", "<think>\nlist files\n</think>\nls -la", "no ```bash block found"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_output_goes_to_the_env_as_written_and_the_env_explains(make_env, tokenizer, case):
    tool_format, reply, explained = BROKEN[case]
    env = make_env(tool_format=tool_format, max_steps=2)
    engine = ScriptedEngine(tokenizer, [reply.removeprefix("<think>\n")])
    policy = ModelPolicy(engine, SamplingConfig())  # think=True: the policy writes the <think> prefill itself
    obs, info = env.reset(seed=0)
    policy.begin(obs, info)
    action = policy.act(obs, info)
    assert action["content"] == reply  # as the model wrote it, prefill included: nothing repaired
    obs, reward, terminated, truncated, info = env.step(action)
    assert explained.lower() in obs.lower(), obs
    assert info["tool_results"][0]["error"] is True
    assert policy.turns[0].parse_error is not None
    # the explanation is what the model reads next
    policy.act(obs, info)
    assert obs in tokenizer.decode(policy.turns[1].prompt_ids)


def test_a_full_context_truncates_the_episode_and_the_work_is_graded(make_env, tokenizer):
    env = make_env(max_steps=20)
    obs, info = env.reset(seed=0)
    first = len(tokenizer.encode(obs)) + 40  # room for the first prompt and about one reply
    long_reply = "<think>\n" + "calc " * 60 + "\n</think>\n<tool_call>\n{\"name\": \"bash\", \"arguments\": " \
                 "{\"command\": \"echo hi\"}}\n</tool_call>"  # fmt: skip
    engine = ScriptedEngine(tokenizer, [long_reply] * 10, context_limit=first + 200)
    policy = ModelPolicy(engine, SamplingConfig(min_turn_tokens=16, think=False))
    episode = play(env, policy, max_actions=20)
    assert episode.truncated and not episode.terminated
    assert episode.info["truncated_by"].startswith("context limit")
    assert episode.info["outcome"]["fail_to_pass_total"] > 0  # graded like any truncation
    assert "grade" in episode.info
    assert all(len(p) <= engine.context_limit for p in engine.prompts)
    assert episode.info["step"] == len(engine.prompts)  # the env does not count the truncation as a step


def test_device_selection_prefers_cuda_when_present(monkeypatch):
    import torch
    from swefarm.policy.device import pick_device, pick_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == "cuda"
    assert pick_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device() in ("cpu", "mps")
    assert pick_dtype("cpu") == torch.float32
    with pytest.raises(RuntimeError, match="no CUDA"):
        pick_device("cuda:0")
