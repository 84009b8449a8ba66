"""docs/trajectories.md's scoring at the default temperature: the importance ratio is 1 at step 0 only when the
logits are divided by the sampling temperature (the real model, sampling through the transformers engine)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.model
def test_ratio_is_one_at_the_default_temperature_only_with_the_temperature_applied():
    import torch
    from swefarm.policy.sampling import SamplingConfig
    from swefarm.policy.training import sampling_temperature, token_logprobs
    from swefarm.policy.trajectory import Trajectory
    from swefarm.policy.transformers_backend import TransformersEngine

    engine = TransformersEngine(log=lambda *a: None, cache_entries=0)
    try:
        sampling = SamplingConfig(seed=3)  # the default temperature, 0.7
        assert sampling.temperature == 0.7
        text = engine.tokenizer.apply_chat_template(
            [{"role": "user", "content": "Name a fruit."}], tokenize=False, add_generation_prompt=True
        )
        prompt = engine.tokenizer.encode(text, add_special_tokens=False)
        out = engine.generate(list(prompt), sampling, 24)
        ids = torch.tensor([list(prompt) + out.ids])
        mask = torch.ones_like(ids)
        temperature = sampling_temperature([Trajectory(sampling=sampling.model_dump())])
        with torch.no_grad():
            scaled = token_logprobs(engine._model, ids, mask, temperature)[0, len(prompt) :]
            raw = token_logprobs(engine._model, ids, mask)[0, len(prompt) :]
    finally:
        engine.close()
    old = torch.tensor(out.logprobs)
    assert torch.allclose(torch.exp(scaled - old), torch.ones_like(old), atol=5e-3)
    assert not torch.allclose(torch.exp(raw - old), torch.ones_like(old), atol=5e-3)  # what the old example did


def test_mixed_temperatures_are_refused():
    from swefarm.policy.training import sampling_temperature
    from swefarm.policy.trajectory import Trajectory

    with pytest.raises(ValueError, match="several temperatures"):
        sampling_temperature([Trajectory(sampling={"temperature": 0.7}), Trajectory(sampling={"temperature": 1.0})])
    assert sampling_temperature([Trajectory(sampling={"temperature": 0.0})]) == 1.0


@pytest.mark.model
def test_the_engine_samples_from_a_trainers_model_in_memory_and_keeps_no_caches():
    import torch
    from swefarm.policy.models import default_model_dir
    from swefarm.policy.sampling import SamplingConfig
    from swefarm.policy.transformers_backend import TransformersEngine
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = default_model_dir(log=lambda *a: None)
    model, tokenizer = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    model.train()  # as a trainer holds it
    engine = TransformersEngine(model, tokenizer=tokenizer, log=lambda *a: None)
    try:
        assert engine._model is model and engine.cache_entries == 0 and model.training
        prompt = tokenizer.encode("The capital of France is", add_special_tokens=False)
        greedy = SamplingConfig(temperature=0.0)
        first = engine.generate(prompt, greedy, 4)
        with torch.no_grad():  # the trainer steps: the next turn must see the new weights, not a cache
            model.get_output_embeddings().weight.mul_(-1.0)
        second = engine.generate(prompt, greedy, 4)
    finally:
        engine.close()
    assert first.ids != second.ids
    with pytest.raises(ValueError, match="tokenizer"):
        TransformersEngine(model)
