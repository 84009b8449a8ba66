"""What every policy is: given the episode so far, the next assistant turn.

A policy speaks to an env only through the Gymnasium API. `begin` sees the
reset's observation and info (the system and user messages, the tool specs,
the tool-call format); `act` sees each step's, and returns an action
`env.step` accepts: the model's raw text, or a dict with that text under
"content" plus what the turn cost (`model_time_s`, `tokens`), or
`{"truncate": why}` to end the episode (a full context window). `finish` sees
the last step's, and `trajectory` returns the episode's record (token-exact for
model-backed policies, text for scripted ones), which the rollout writes for trainers.

`policy.episode.play` is the one loop that drives a policy through an episode.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from swefarm.policy.trajectory import Trajectory


@runtime_checkable
class Policy(Protocol):
    def begin(self, observation: str, info: dict[str, Any]) -> None:
        """A new episode: the reset's observation and info."""
        ...

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        """The next action for `env.step`, after the observation and info of the last step (or reset)."""
        ...

    def finish(self, observation: str, info: dict[str, Any]) -> None:
        """The episode ended: the last step's observation and info."""
        ...

    def trajectory(self, **fields: Any) -> Trajectory:
        """This episode's record so far; `fields` fill in its metadata (task, reward, ...)."""
        ...


class PolicyFactory(Protocol):
    """Makes a fresh policy per episode; model-backed factories share one loaded model between them."""

    name: str

    def new(self, task: Any | None = None) -> Policy:
        """A policy for one episode on `task` (a `tasks.models.Task`; scripted policies need it, models do not)."""
        ...

    def close(self) -> None:
        """Free the model, the server process, or whatever the factory holds."""
        ...
