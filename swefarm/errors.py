"""The one exception every layer shares: what counts as infrastructure.

An episode that meets an `InfrastructureError` (a sandbox died, the Docker
engine is gone, the grader's test run broke, a model server does not answer)
is not the agent's doing: it is recorded as an infrastructure failure and never
scored as a failed attempt. Each layer's own infrastructure exceptions inherit
it (`sandbox.errors.SandboxError`, `harness.testrun.InfraError`, the model
backends' server errors, `api.contract.errors.UnavailableError`).

Any other exception raised while an episode plays is a bug (in a policy, a
wrapper or the env): the episode runner (`policy.episode.play`) lets it
propagate with its traceback; it is never turned into an infrastructure failure.

This module imports nothing, so every layer, `tasks` included, may use it.
"""

from __future__ import annotations


class InfrastructureError(Exception):
    """Base of every failure the agent cannot cause. Subclasses also inherit the builtin they resemble."""
