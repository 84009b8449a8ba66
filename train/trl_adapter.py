"""TRL: GRPO with swefarm episodes as the rollout and swefarm rewards as the reward.

    from trl import GRPOConfig, GRPOTrainer
    from swefarm.train.trl_adapter import SwefarmRollout, swefarm_reward, task_prompts

    rollout = SwefarmRollout(store="~/.swefarm/tasks.db", env_config={...}, sampling={"max_new_tokens": 128})
    trainer = GRPOTrainer(model, reward_funcs=[swefarm_reward], args=GRPOConfig(...),
                          train_dataset=task_prompts(task_ids), processing_class=tokenizer, rollout_func=rollout)

TRL's `rollout_func` receives the batch's prompts (task ids here, each repeated
`num_generations` times by TRL's sampler) and returns token ids. Each prompt
becomes one whole swefarm episode played with the trainer's current weights
(transformers on the CPU; TRL's colocated vLLM engine on a GPU): `prompt_ids`
is the episode's first context, `completion_ids` everything after it (every
model turn and every tool answer, as one append-only sequence), `env_mask`
marks the model's own ids (TRL trains on those only) and `logprobs` are the
sampled ids' logprobs. Those are the trajectory's own `token_ids`,
`loss_mask` and `logprobs`, cut at the first prompt, nothing re-tokenised.

The reward is the env's (`swefarm_reward` reads it from the rollout). An
episode whose sandbox failed (`infra_error`) or whose rollout failed gets the
reward None, which TRL leaves out of the group baseline and gives advantage 0,
and an all-zero `env_mask`: it is masked, never scored 0.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

from swefarm.policy.trajectory import Trajectory, write_jsonl
from swefarm.train.episodes import EpisodeSpec, play_many, trainable


class RolloutError(RuntimeError):
    """No episode of a batch could be trained on (the env or the model failed on every one)."""


def task_prompts(task_ids: list[str]):
    """A TRL train dataset: one row per task, its id as the prompt."""
    from datasets import Dataset

    if not task_ids:
        raise ValueError("no tasks to train on")
    return Dataset.from_list([{"prompt": task_id} for task_id in task_ids])


def swefarm_reward(prompts, completions, swefarm_reward=None, **kwargs) -> list[float | None]:
    """The env's reward of each episode (None for a masked one): a TRL reward function."""
    if swefarm_reward is None:
        raise ValueError("swefarm_reward needs SwefarmRollout as the trainer's rollout_func")
    return list(swefarm_reward)


class SwefarmRollout:
    """TRL's `rollout_func`: every prompt (a task id) played as one swefarm episode with the trainer's weights."""

    def __init__(
        self,
        store: str | Path | None = None,
        env_config: dict[str, Any] | None = None,
        sampling: dict[str, Any] | None = None,
        concurrency: int = 8,
        out: str | Path | None = None,
        seed: int = 0,
    ):
        self.store, self.env_config = store, dict(env_config or {})
        self.sampling, self.concurrency, self.out = dict(sampling or {}), concurrency, out
        self._seeds = itertools.count(seed)
        self._factory = None
        self._lock = threading.Lock()
        self.last: list[Trajectory] = []  # the latest batch's trajectories, as played
        self.last_output: dict[str, list] = {}  # and what went to TRL
        self.produced: list[tuple] = []  # (prompt ids, completion ids, env mask) of every episode handed to TRL

    def __call__(self, prompts: list[Any], trainer) -> dict[str, list]:
        factory = self._factory_for(trainer)
        specs = [
            EpisodeSpec(_task_id(prompt), seed=next(self._seeds), episode=i, env_config=self.env_config)
            for i, prompt in enumerate(prompts)
        ]
        played = play_many(specs, factory, store=self.store, concurrency=self.concurrency)
        if self.out is not None:
            write_jsonl(played, self.out)
        if not any(trainable(t) for t in played):
            first = next((t.error or t.infra_error for t in played if t.error or t.infra_error), "no tokens")
            raise RolloutError(f"every episode of the batch failed, so there is nothing to train on; first: {first}")
        pad = factory.engine.tokenizer.eos_token_id
        output = to_trl(played, pad_id=pad if pad is not None else 0)
        self.last, self.last_output = played, output
        self.produced.extend(
            (tuple(p), tuple(c), tuple(m))
            for p, c, m in zip(output["prompt_ids"], output["completion_ids"], output["env_mask"], strict=True)
        )
        return output

    def _factory_for(self, trainer):
        with self._lock:
            if self._factory is None:
                from swefarm.policy.model_policy import ModelFactory

                sampling = {"temperature": trainer.temperature, **self.sampling}
                self._factory = ModelFactory(_engine(trainer), sampling)
            return self._factory


def to_trl(trajectories: list[Trajectory], pad_id: int) -> dict[str, list]:
    """The trajectories as TRL's rollout output: ids, masks and logprobs cut at each episode's first prompt."""
    out: dict[str, list] = {
        "prompt_ids": [],
        "completion_ids": [],
        "logprobs": [],
        "env_mask": [],
        "swefarm_reward": [],
        "swefarm_task": [],
    }
    for t in trajectories:
        out["swefarm_task"].append(t.task)
        if t.turns and t.token_ids:
            cut = len(t.turns[0].prompt_ids)
            prompt, completion = t.token_ids[:cut], t.token_ids[cut:]
            mask, logprobs = t.loss_mask[cut:], t.logprobs[cut:]
        else:  # nothing was generated (the env never started): a one-id stand-in that carries no loss
            prompt, completion, mask, logprobs = [pad_id], [pad_id], [0], [0.0]
        usable = trainable(t)
        out["prompt_ids"].append(list(prompt))
        out["completion_ids"].append(list(completion))
        out["logprobs"].append(list(logprobs))
        out["env_mask"].append(list(mask) if usable else [0] * len(mask))
        out["swefarm_reward"].append(float(t.reward) if usable else None)
    return out


def _task_id(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt.strip()
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):  # a conversational prompt
        return str(prompt[-1].get("content", "")).strip()
    raise ValueError(f"a prompt must be a task id (got {type(prompt).__name__})")


def _engine(trainer):
    """The engine that samples with the trainer's current weights: TRL's vLLM when it runs one, else the model."""
    tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)
    if getattr(trainer, "use_vllm", False):
        from swefarm.train.vllm_colocate import ColocatedVLLMEngine

        return ColocatedVLLMEngine(trainer.vllm_generation.llm, tokenizer)
    from swefarm.policy.transformers_backend import TransformersEngine

    model = trainer.accelerator.unwrap_model(trainer.model)
    return TransformersEngine(model, tokenizer=tokenizer, log=lambda *a: None)
