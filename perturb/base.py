"""The seam of the perturbation layer: the `Perturbation` protocol, the episode it shapes, and the registry.

A perturbation draws one episode's parameters from a seeded RNG (`sample`),
then turns them into the env's per-episode hooks (`apply`): config overrides,
problem-statement rewrites, sandbox set-up, tool middleware (see
`envs.episode`). Sampling uses only the RNG it is given, so the parameters
recorded in `info["perturbation"]` can be drawn again from their seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from swefarm.envs.config import EnvConfig


class PerturbationError(ValueError):
    """A perturbation is misconfigured, unknown, or clashes with another; the message says which."""


@runtime_checkable
class Perturbation(Protocol):
    """One family of variation. Implementations need not inherit from this; `register` makes them nameable."""

    name: str

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """This episode's parameters, JSON-able, drawn from `rng` alone (same RNG state, same parameters)."""
        ...

    def apply(self, params: dict[str, Any], episode: Episode) -> None:
        """Add this episode's hooks to `episode`, deterministically from `params` (and `episode.seed`)."""
        ...


class Episode:
    """The hooks one reset is given, gathered from every perturbation wrapped around the env."""

    def __init__(self, options: dict[str, Any] | None, base: EnvConfig | None, seed: int, family: str):
        self.options = {k: (dict(v) if k == "config" else list(v)) for k, v in (options or {}).items() if v}
        self.base = base or EnvConfig()
        self.seed, self.family = seed, family
        self._set: set[str] = set()  # the config fields this family set

    @property
    def config(self) -> EnvConfig:
        """The episode's config as it stands: the env's, with the overrides set so far."""
        return EnvConfig.load(self.base, **self.options.get("config", {}))

    def configure(self, **overrides: Any) -> None:
        """Override EnvConfig fields for this episode; two perturbations may not set the same field."""
        config = self.options.setdefault("config", {})
        for key, value in overrides.items():
            if key in config and key not in self._set:
                raise PerturbationError(
                    f"perturbation {self.family} sets {key}, which another perturbation (or the reset's options) "
                    "already sets; drop one of them"
                )
            config[key] = value
            self._set.add(key)

    def rewrite_issue(self, fn: Callable[[str], str]) -> None:
        self.options.setdefault("issue", []).append(fn)

    def setup(self, fn: Callable[[Any], None]) -> None:
        """`fn(sandbox)` runs in the episode's sandbox before the first observation."""
        self.options.setdefault("setup", []).append(fn)

    def around_tools(self, fn: Callable) -> None:
        """`fn(call, run) -> ToolResult` wraps every tool call; `run()` makes it."""
        self.options.setdefault("tool_middleware", []).append(fn)

    def record(self, params: dict[str, Any]) -> None:
        self.options.setdefault("perturbation", []).append({"family": self.family, "params": params, "seed": self.seed})

    def reset_options(self) -> dict[str, Any]:
        """What goes to `env.reset(options=...)`."""
        return self.options


# -- the registry ------------------------------------------------------------------------------

_factories: dict[str, Callable[..., Perturbation]] = {}

#: The built-in families, in the order `wrap` stacks them (outermost first).
BUILTIN = {
    "system": "swefarm.perturb.system_prompt:SystemPromptPerturbation",
    "tools": "swefarm.perturb.tools:ToolsPerturbation",
    "user": "swefarm.perturb.user_prompt:UserPromptPerturbation",
    "layout": "swefarm.perturb.layout:LayoutPerturbation",
    "responses": "swefarm.perturb.responses:ResponsesPerturbation",
}
ALIASES = {
    "system_prompt": "system",
    "scaffold": "system",
    "tool": "tools",
    "user_prompt": "user",
    "issue": "user",
    "environment": "layout",
    "env": "layout",
    "tool_responses": "responses",
}


def register(name: str, factory: Callable[..., Perturbation]) -> None:
    """Make `factory(**options)` available by `name` in specs (`wrap(env, "name")`, YAML, `--perturb name`)."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise PerturbationError(f"a perturbation name is letters, digits, - and _: {name!r}")
    _factories[name] = factory


def names() -> list[str]:
    """Every family a spec may name: the built-in ones first, then the registered ones."""
    return [*BUILTIN, *(n for n in _factories if n not in BUILTIN)]


def canonical(name: str) -> str:
    name = name.strip()
    return ALIASES.get(name, name)


def create(name: str, **options: Any) -> Perturbation:
    """The perturbation registered as `name`, made with `options`; PerturbationError for a name nobody knows."""
    name = canonical(name)
    factory = _factories.get(name)
    if factory is None and name in BUILTIN:
        import importlib

        module, _, attr = BUILTIN[name].partition(":")
        factory = getattr(importlib.import_module(module), attr)
    if factory is None:
        raise PerturbationError(f"unknown perturbation {name!r}; known: {', '.join(names())}")
    try:
        return factory(**options)
    except (TypeError, ValueError) as exc:
        raise PerturbationError(f"perturbation {name}: {exc}") from None
