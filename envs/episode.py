"""What one episode may vary beyond the env's EnvConfig: the hooks `reset(options=...)` takes.

    env.reset(seed=0, options={
        "config": {"tool_format": "minimax", "tool_names": {"bash": "shell"}},  # EnvConfig overrides, this episode
        "issue": [fn],            # fn(problem_statement) -> the text the agent reads
        "setup": [fn],            # fn(sandbox): runs in the episode's sandbox before the first observation
        "tool_middleware": [fn],  # fn(call, run) -> ToolResult around every tool call; run() makes the call
        "perturbation": [record], # what was varied (JSON-able dicts), echoed in every info["perturbation"]
    })

The perturbation layer (`perturb/`) fills these in, one wrapper per family,
and plug-ins may too. Hooks run in list order; the first middleware is the
outermost. Grading never sees any of it: it runs on the working tree's diff in
a fresh container.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from swefarm.envs.config import EnvConfig
from swefarm.envs.models import ToolCall, ToolResult

#: Fixed for the env's life: its sandboxes come from one warm pool made with them.
_PER_ENV = ("sandbox", "sandbox_provider", "pool_size")


@dataclass
class EpisodeOptions:
    config: EnvConfig
    issue: list[Callable[[str], str]] = field(default_factory=list)
    setup: list[Callable[[Any], None]] = field(default_factory=list)
    tool_middleware: list[Callable[[ToolCall, Callable[[], ToolResult]], ToolResult]] = field(default_factory=list)
    perturbation: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, options: dict[str, Any] | None, base: EnvConfig) -> EpisodeOptions:
        """The episode's options on top of the env's `base` config; ValueError naming what is wrong."""
        options = dict(options or {})
        known = {"config", "issue", "setup", "tool_middleware", "perturbation"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown reset option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        overrides = dict(options.get("config") or {})
        fixed = [key for key in _PER_ENV if key in overrides]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot change per episode; set them when making the env")
        config = EnvConfig.load(base, **overrides) if overrides else base
        hooks = {key: list(options.get(key) or []) for key in ("issue", "setup", "tool_middleware")}
        for key, fns in hooks.items():
            if not all(callable(fn) for fn in fns):
                raise ValueError(f"reset option {key} must be a list of functions")
        records = list(options.get("perturbation") or [])
        if not all(isinstance(r, dict) for r in records):
            raise ValueError("reset option perturbation must be a list of dicts")
        return cls(config=config, perturbation=records, **hooks)

    def problem_statement(self, text: str) -> str:
        for rewrite in self.issue:
            text = rewrite(text)
        return text

    def call(self, call: ToolCall, run: Callable[[], ToolResult]) -> ToolResult:
        """`run()` through the middleware, the first one outermost."""
        for middleware in reversed(self.tool_middleware):
            run = partial(middleware, call, run)
        return run()
