"""Append-only rendering with real chat templates: the SmolLM2 tokenizer, and variants of its template
that drop earlier reasoning or know no tool role."""

from __future__ import annotations

import copy

import pytest
from policy_fakes import ScriptedEngine
from swefarm.policy.chat import ChatRenderer, TemplateError
from swefarm.policy.model_policy import ModelPolicy
from swefarm.policy.sampling import SamplingConfig

SYSTEM = {"role": "system", "content": "You fix bugs with tools."}
USER = {"role": "user", "content": "calc.add(2, 2) returns 5"}

# Like Qwen3's: earlier assistant turns lose everything up to </think>.
DROPS_REASONING = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['role'] == 'assistant' %}{{ m['content'].split('</think>')[-1].lstrip() }}"
    "{% else %}{{ m['content'] }}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
NO_TOOL_ROLE = (
    "{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('unknown role tool') }}{% endif %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def with_template(tokenizer, template):
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = template
    return tok


def test_first_prompt_is_the_templates_own(tokenizer):
    renderer = ChatRenderer(tokenizer)
    expected = tokenizer.apply_chat_template([SYSTEM, USER], tokenize=True, add_generation_prompt=True)
    expected = expected if isinstance(expected, list) else expected["input_ids"]
    assert renderer.start([SYSTEM, USER]) == list(expected)


@pytest.mark.parametrize("closed", [True, False])
def test_continuation_renders_exactly_what_the_template_would(tokenizer, closed):
    renderer = ChatRenderer(tokenizer)
    reply = "<think>\nadd is off by one\n</think>\n<tool_call>{}</tool_call>"
    completion = tokenizer.encode(reply, add_special_tokens=False) + ([tokenizer.eos_token_id] if closed else [])
    tool = {"role": "tool", "content": "def add(a, b):\n    return a + b + 1"}
    ids = renderer.start([SYSTEM, USER]) + completion + renderer.continuation([tool], turn_closed=closed)
    full = [SYSTEM, USER, {"role": "assistant", "content": reply}, tool]
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template(full, tokenize=False, add_generation_prompt=True)


def test_a_template_that_drops_reasoning_cannot_drop_ours(tokenizer):
    tok = with_template(tokenizer, DROPS_REASONING)
    replies = ["<think>\nthe bug is in add\n</think>\nno call here", "<think>\nsecond thought\n</think>\n"]
    policy = ModelPolicy(ScriptedEngine(tok, replies), SamplingConfig(think=False))
    info = {"messages": [SYSTEM, USER], "tools": [], "tool_format": "hermes"}
    policy.begin("", info)
    first = policy.act("", info)
    info["messages"] = [*info["messages"], {"role": "assistant", "content": first["content"]},
                        {"role": "user", "content": "Error: No tool call found."}]  # fmt: skip
    policy.act("Error: No tool call found.", info)
    second_prompt = tok.decode(policy.turns[1].prompt_ids)
    assert "the bug is in add" in second_prompt  # our context keeps the earlier thought
    rerendered = tok.apply_chat_template(info["messages"], tokenize=False, add_generation_prompt=True)
    assert "the bug is in add" not in rerendered  # the template itself would have dropped it
    assert policy.turns[1].prompt_ids[: len(policy.turns[0].prompt_ids)] == policy.turns[0].prompt_ids


def test_a_template_without_a_tool_role_gets_tool_results_as_user_turns(tokenizer):
    renderer = ChatRenderer(with_template(tokenizer, NO_TOOL_ROLE))
    text = tokenizer.decode(renderer.continuation([{"role": "tool", "content": "3 passed"}], turn_closed=True))
    assert text == "\n<|im_start|>user\n3 passed<|im_end|>\n<|im_start|>assistant\n"


def test_observations_can_be_sent_as_user_turns_on_request(tokenizer):
    renderer = ChatRenderer(tokenizer, observation_role="user")
    text = tokenizer.decode(renderer.continuation([{"role": "tool", "content": "ok"}], turn_closed=False))
    assert text == "<|im_end|>\n<|im_start|>user\nok<|im_end|>\n<|im_start|>assistant\n"


def test_a_tokenizer_without_a_chat_template_is_refused(tokenizer):
    with pytest.raises(TemplateError, match="no chat template"):
        ChatRenderer(with_template(tokenizer, None))
