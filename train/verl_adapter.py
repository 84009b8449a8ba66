"""verl: an agent loop that plays one swefarm episode per sample through the inference server verl runs.

    # verl config (examples/verl/swefarm_grpo.yaml):
    actor_rollout_ref.rollout.agent.agent_loop_config_path: examples/verl/agent_loops.yaml
    # agent_loops.yaml:
    - name: swefarm
      _target_: swefarm.train.verl_adapter.SwefarmAgentLoop

Each row of verl's dataset names a task (`extra_info.task_id`, or the column
`task_id`) and may carry `env_config`. The loop makes the env with
`gymnasium.make`, and the policy is swefarm's `ModelPolicy` over an engine that
sends prompt ids to verl's server manager (`server_manager.generate`) and gets
sampled ids and logprobs back: token-in/token-out, the append-only context of
every swefarm policy, nothing re-tokenised. The output is the trajectory
itself: `response_ids` / `response_mask` / `response_logprobs` are its
`token_ids` / `loss_mask` / `logprobs` after the first prompt, and
`reward_score` is the env's reward.

An episode whose sandbox failed (`infra_error`) or whose rollout failed comes
back with an all-zero `response_mask` (no token of it is trained on) and
`extra_fields["swefarm_masked"] = True`; its `reward_score` is None, so no
score is invented for it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from swefarm.policy.engine import Generation
from swefarm.policy.sampling import SamplingConfig
from swefarm.train.episodes import EpisodeSpec, play_one, trainable
from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput


class ServerEngine:
    """An Engine over verl's server manager: called from the episode's thread, answered on verl's event loop."""

    name = "verl"

    def __init__(self, server_manager, tokenizer, loop: asyncio.AbstractEventLoop, sampling_params: dict, limit: int):
        self.server_manager, self.tokenizer, self.loop = server_manager, tokenizer, loop
        self.sampling_params = dict(sampling_params)
        self.model = str(getattr(tokenizer, "name_or_path", "") or "verl")
        self.context_limit = limit
        self.request_id = uuid.uuid4().hex  # one sticky session per episode: the server keeps its prefix cache

    def generate(self, prompt_ids: list[int], sampling: SamplingConfig, max_new_tokens: int) -> Generation:
        import time

        params = {**self.sampling_params, "max_tokens": max_new_tokens, "logprobs": True}
        start = time.perf_counter()
        future = asyncio.run_coroutine_threadsafe(
            self.server_manager.generate(self.request_id, prompt_ids=list(prompt_ids), sampling_params=params),
            self.loop,
        )
        output = future.result()
        ids = list(output.token_ids)
        logprobs = list(output.log_probs) if output.log_probs is not None else None
        return Generation(
            ids=ids,
            logprobs=logprobs,
            finish_reason="length" if len(ids) >= max_new_tokens else "stop",
            seconds=time.perf_counter() - start,
            notes=[] if logprobs is not None else ["verl's server returned no logprobs"],
        )

    def close(self) -> None:
        pass


class _ServerFactory:
    def __init__(self, engine: ServerEngine, sampling: SamplingConfig):
        self.engine, self.sampling = engine, sampling
        self.name = f"verl:{engine.model}"

    def new(self, task: Any | None = None):
        from swefarm.policy.model_policy import ModelPolicy

        return ModelPolicy(self.engine, self.sampling)

    def close(self) -> None:
        pass


class SwefarmAgentLoop(AgentLoopBase):
    """verl's agent loop for swefarm tasks (see the module docstring)."""

    async def run(self, sampling_params: dict[str, Any], **kwargs) -> AgentLoopOutput:
        task_id, env_config, store = _row(kwargs)
        limit = int(self.rollout_config.prompt_length) + int(self.rollout_config.response_length)
        loop = asyncio.get_running_loop()
        engine = ServerEngine(self.server_manager, self.tokenizer, loop, sampling_params, limit)
        sampling = SamplingConfig(
            temperature=float(sampling_params.get("temperature", 1.0)),
            top_p=float(sampling_params.get("top_p", 1.0)),
            max_new_tokens=int(kwargs.get("max_new_tokens") or self.rollout_config.response_length),
            context_limit=limit,
        )
        spec = EpisodeSpec(task_id, seed=int(kwargs.get("index", 0) or 0), env_config=env_config)
        trajectory = await loop.run_in_executor(None, play_one, spec, _ServerFactory(engine, sampling), store)
        return to_agent_loop_output(trajectory, self.rollout_config.response_length)


def to_agent_loop_output(trajectory, response_length: int | None = None) -> AgentLoopOutput:
    """A trajectory as verl's AgentLoopOutput (cut at the first prompt; masked when it must not be trained on)."""
    usable = trainable(trajectory) and bool(trajectory.turns)
    if trajectory.turns and trajectory.token_ids:
        cut = len(trajectory.turns[0].prompt_ids)
        prompt, response = trajectory.token_ids[:cut], trajectory.token_ids[cut:]
        mask, logprobs = trajectory.loss_mask[cut:], trajectory.logprobs[cut:]
    else:
        prompt, response, mask, logprobs = [0], [0], [0], [0.0]
    if response_length is not None and len(response) > response_length:  # verl pads to this: never silently
        usable = False
        response, mask, logprobs = response[:response_length], mask[:response_length], logprobs[:response_length]
    return AgentLoopOutput(
        prompt_ids=list(prompt),
        response_ids=list(response),
        response_mask=list(mask) if usable else [0] * len(mask),
        response_logprobs=list(logprobs),
        reward_score=float(trajectory.reward) if usable else None,
        num_turns=2 * len(trajectory.turns) + 1,
        metrics=AgentLoopMetrics(),
        extra_fields={
            "swefarm_task": trajectory.task,
            "swefarm_resolved": trajectory.resolved,
            "swefarm_masked": not usable,
            "swefarm_infra_error": trajectory.infra_error,
            "swefarm_error": trajectory.error,
        },
    )


def _row(kwargs: dict[str, Any]) -> tuple[str, dict, str | None]:
    extra = kwargs.get("extra_info") or {}
    task_id = kwargs.get("task_id") or extra.get("task_id")
    if not task_id:
        raise ValueError("a swefarm row needs its task: a `task_id` column or extra_info.task_id")
    env_config = kwargs.get("env_config") or extra.get("env_config") or {}
    return str(task_id), dict(env_config), kwargs.get("store") or extra.get("store")
