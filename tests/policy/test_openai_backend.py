"""The openai backend against a real OpenAI-compatible server on 127.0.0.1 (our own, around the real SmolLM2):
token mode keeps the context token-exact (the server echoes the prompt ids it saw), chat mode says it has
no ids, and a server that is down or refuses gets a clear error."""

from __future__ import annotations

import httpx
import pytest
from swefarm.policy.factory import load_policy
from swefarm.policy.openai_backend import ServerError
from swefarm.policy.openai_server import BackgroundServer
from swefarm.policy.rollout import RolloutPlan, run
from trajectory_checks import assert_well_formed

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(transformers_factory):
    with BackgroundServer(transformers_factory.engine) as served:
        yield served


def test_the_server_speaks_the_token_level_api(server, tokenizer):
    prompt = tokenizer.encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
    answer = httpx.post(f"{server.url}/completions", json={
        "prompt": prompt, "max_tokens": 5, "temperature": 1.0, "logprobs": 1, "return_token_ids": True,
    }, timeout=120).json()  # fmt: skip
    choice = answer["choices"][0]
    assert choice["prompt_token_ids"] == prompt
    assert 1 <= len(choice["token_ids"]) <= 5 == answer["usage"]["completion_tokens"] or choice["finish_reason"]
    assert len(choice["logprobs"]["token_logprobs"]) == len(choice["token_ids"])
    assert tokenizer.decode(choice["token_ids"]) == choice["text"]
    bad = httpx.post(f"{server.url}/completions", json={"prompt": [10**9], "max_tokens": 2}, timeout=30)
    assert bad.status_code == 400 and "outside the vocabulary" in bad.text


def test_token_mode_episode_is_token_exact(server, tokenizer, calc_store, valid_calc_task, docker_client):
    factory = load_policy(f"openai:{server.url}", temperature=1.0, max_new_tokens=32, seed=3)
    try:
        assert factory.engine.mode == "tokens"
        plan = RolloutPlan(tasks=[valid_calc_task.instance_id], store=calc_store, env_config={"max_steps": 2})
        (t,) = run(plan, factory, client=docker_client)
    finally:
        factory.close()
    assert t.policy.startswith("openai:") and t.token_ids_exact
    assert_well_formed(t, tokenizer)


def test_chat_mode_plays_and_says_it_has_no_token_ids(server, calc_store, valid_calc_task, docker_client):
    factory = load_policy(f"openai:{server.url}", mode="chat", max_new_tokens=24)
    try:
        plan = RolloutPlan(tasks=[valid_calc_task.instance_id], store=calc_store, env_config={"max_steps": 2})
        (t,) = run(plan, factory, client=docker_client)
    finally:
        factory.close()
    assert t.error is None and t.turns and t.turns[0].text.startswith("<think>")
    assert not t.token_ids_exact and "no token ids" in t.token_note
    assert t.token_ids == [] and t.loss_mask == []


def test_a_server_that_is_down_is_named_in_the_error():
    with pytest.raises(ServerError, match="cannot reach the server at http://127.0.0.1:9/v1"):
        load_policy("openai:http://127.0.0.1:9")


def test_a_server_that_dies_mid_run_is_recorded_not_lost(
    transformers_factory, calc_store, valid_calc_task, docker_client
):
    with BackgroundServer(transformers_factory.engine) as doomed:
        factory = load_policy(f"openai:{doomed.url}", max_new_tokens=8)
    try:  # the server is gone: the first model call fails
        plan = RolloutPlan(tasks=[valid_calc_task.instance_id], store=calc_store, env_config={"max_steps": 2})
        (t,) = run(plan, factory, client=docker_client)
    finally:
        factory.close()
    assert t.error is not None and "ServerError" in t.error and t.truncated
    assert t.task == valid_calc_task.instance_id
