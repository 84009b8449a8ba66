"""verl (the real package): SwefarmAgentLoop plays a real episode through a server manager, token in, token out."""

from __future__ import annotations

import asyncio

import pytest
from conftest import TRAIN_TASK

pytestmark = [pytest.mark.docker, pytest.mark.model, pytest.mark.slow]


class ModelServer:
    """Stands where verl's LLM server manager stands: the real small model, ids in, ids and logprobs out."""

    def __init__(self, engine):
        self.engine, self.calls = engine, []

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
        from swefarm.policy.sampling import SamplingConfig
        from verl.workers.rollout.replica import TokenOutput

        sampling = SamplingConfig(temperature=sampling_params["temperature"], seed=5)
        out = await asyncio.to_thread(self.engine.generate, prompt_ids, sampling, sampling_params["max_tokens"])
        self.calls.append((request_id, list(prompt_ids), out.ids, out.logprobs))
        return TokenOutput(token_ids=out.ids, log_probs=out.logprobs)


def _loop(server, tokenizer):
    from omegaconf import OmegaConf
    from swefarm.train.verl_adapter import SwefarmAgentLoop
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap
    from verl.utils.dataset.rl_dataset import RLHFDataset

    config = OmegaConf.create({"actor_rollout_ref": {"rollout": {"prompt_length": 4096, "response_length": 1536}}})
    return SwefarmAgentLoop(
        trainer_config=DictConfigWrap(config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(OmegaConf.create({})),
    )


def test_agent_loop_output_is_the_episode_the_server_generated(family_store):
    from swefarm.policy.transformers_backend import TransformersEngine
    from swefarm.train import scaffold

    engine = TransformersEngine(log=lambda *a: None)
    try:
        server = ModelServer(engine)
        loop = _loop(server, engine.tokenizer)
        row = {"task_id": TRAIN_TASK, "env_config": scaffold.env_config(max_steps=2), "store": str(family_store)}
        out = asyncio.run(loop.run({"temperature": 1.0}, extra_info=row, max_new_tokens=40))
    finally:
        engine.close()
    assert len(server.calls) >= 1 and len({c[0] for c in server.calls}) == 1  # one sticky session per episode
    sequence = out.prompt_ids + out.response_ids
    generated = [i for i, m in zip(out.response_ids, out.response_mask, strict=True) if m]
    assert generated == [i for call in server.calls for i in call[2]]  # the model's ids, verbatim
    sampled = [lp for lp, m in zip(out.response_logprobs, out.response_mask, strict=True) if m]
    assert sampled == [lp for call in server.calls for lp in call[3]]
    for _, prompt, ids, _ in server.calls:  # token-in: every prompt is a prefix of the one sequence
        assert sequence[: len(prompt) + len(ids)] == prompt + ids
    assert server.calls[0][1] == out.prompt_ids
    assert out.reward_score is not None and out.extra_fields["swefarm_task"] == TRAIN_TASK
    assert not out.extra_fields["swefarm_masked"]
    assert out.as_dict()["responses"].shape[0] == len(out.response_ids)
