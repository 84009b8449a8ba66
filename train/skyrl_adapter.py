"""skyrl-gym: swefarm's Gymnasium env behind skyrl-gym's text-env interface (`BaseTextEnv`).

    import skyrl_gym
    from swefarm.train.skyrl_adapter import register
    register()  # skyrl_gym id "swefarm"
    env = skyrl_gym.make("swefarm", env_config={"store": ..., "env": {...}}, extras={"task_id": ID})
    prompt, meta = env.init([])            # the system prompt and the issue, as chat messages
    out = env.step(model_text)             # {"observations": [...], "reward", "done", "metadata"}

SkyRL's generator owns the tokens (token-in/token-out with its own chat
template); the env takes the model's text and answers with the env's new
messages, tool answers as `tool` messages. `reward` is 0.0 on every step but the
last, which carries the env's reward; the metadata carries the reward
components, `resolved` and the timings.

An infrastructure failure is not a score: skyrl-gym's step output has no mask,
so the last step's `reward` is None (SkyRL's generator adds no reward for a
None) and `metadata["infra_error"]` says why; drop such trajectories in the
trainer (`get_metrics()["infra_error"] == 1`).
"""

from __future__ import annotations

from typing import Any

from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput

ENV_NAME = "swefarm"


class SwefarmTextEnv(BaseTextEnv):
    """One swefarm episode per instance. `extras["task_id"]` names the task; `env_config` may hold
    `store` (the task store) and `env` (an EnvConfig dict), and `extras` may override `env`."""

    def __init__(self, env_config: Any = None, extras: dict[str, Any] | None = None):
        super().__init__()
        import gymnasium

        config = dict(env_config or {})
        extras = dict(extras or {})
        task_id = extras.get("task_id") or (extras.get("extra_info") or {}).get("task_id")
        if not task_id:
            raise ValueError("the swefarm env needs extras['task_id'] (the task to play)")
        env = {**dict(config.get("env") or {}), **dict(extras.get("env") or {})}
        self.task_id = str(task_id)
        self.seed = extras.get("seed")
        self.max_turns = int(env.get("max_steps", extras.get("max_turns") or 50))
        self.env = gymnasium.make(
            "swefarm.envs:swe/Task-v0", task=self.task_id, store=config.get("store"), config=env or None,
            disable_env_checker=True,
        )  # fmt: skip
        self._seen = 0
        self._metrics: dict[str, Any] = {}

    def init(self, prompt):
        """The env's first messages (system prompt and issue); a prompt given by the dataset is ignored."""
        observation, info = self.env.reset(seed=self.seed)
        messages = [{"role": m["role"], "content": m["content"]} for m in info["messages"]]
        self._seen = len(info["messages"])
        return messages, {"tools": info["tools"], "tool_format": info["tool_format"], "task": info["task"]}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        self.turns += 1
        observation, reward, terminated, truncated, info = self.env.step(action)
        new = [m for m in info["messages"][self._seen :] if m["role"] != "assistant"]
        self._seen = len(info["messages"])
        observations = [_message(m) for m in new]
        if not new and observation:
            observations = [{"role": "user", "content": observation}]
        done = bool(terminated or truncated)
        metadata: dict[str, Any] = {"step": info.get("step"), "timing": info.get("timing")}
        if not done:
            return BaseTextEnvStepOutput(observations=observations, reward=0.0, done=False, metadata=metadata)
        outcome = info.get("outcome") or {}
        infra = info.get("infra_error")
        metadata.update(
            reward_components=info.get("reward_components"),
            resolved=bool(outcome.get("resolved")),
            infra_error=infra,
            truncated_by=info.get("truncated_by"),
        )
        self._metrics = {"resolved": float(bool(outcome.get("resolved"))), "infra_error": 1.0 if infra else 0.0}
        return BaseTextEnvStepOutput(
            observations=[], reward=None if infra else float(reward), done=True, metadata=metadata
        )

    def get_metrics(self) -> dict[str, Any]:
        return dict(self._metrics)

    def close(self) -> None:
        self.env.close()


def _message(m: dict[str, Any]) -> dict[str, str]:
    out = {"role": m["role"], "content": m.get("content") or ""}
    if m["role"] == "tool" and m.get("name"):
        out["name"] = m["name"]
    return out


def register(name: str = ENV_NAME) -> None:
    """Register the env with skyrl-gym under `name` (idempotent)."""
    from skyrl_gym.envs.registration import register as skyrl_register
    from skyrl_gym.envs.registration import registry

    if name not in registry:
        skyrl_register(id=name, entry_point="swefarm.train.skyrl_adapter:SwefarmTextEnv")
