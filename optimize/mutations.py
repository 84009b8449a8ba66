"""Built-in mutation operators on a scaffold's prompts, tools and limits.

Each operator takes a config (a dict of `ScaffoldConfig` fields) and a random generator and
returns the changed config and a one-line description, or None when it does not apply (a limit
already at its bound, no tool left to drop). Operators come in groups: prompt, tools, limits.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Config = dict[str, Any]

#: Instructions a prompt operator may add to (or take back from) the system prompt.
HINTS = [
    "Before editing, find and read the code the issue is about.",
    "Reproduce the problem with a short script before you change anything.",
    "Run the relevant existing tests after your change.",
    "Keep the change as small as possible; do not refactor unrelated code.",
    "If a command fails, read its error message carefully before trying again.",
    "Think step by step about the root cause, not only the symptom.",
    "Check edge cases the issue mentions (empty input, None, unusual values).",
    "Do not stop until you have verified the fix; then submit.",
]
ESSENTIAL_TOOLS = {"bash", "submit"}
FORMATS = ("hermes", "minimax", "bash")


@dataclass(frozen=True)
class Operator:
    name: str
    group: str
    why: str
    apply: Callable[[Config, random.Random], tuple[Config, str] | None]


def _add_hint(config: Config, rng: random.Random):
    unused = [h for h in HINTS if h not in config["system_prompt"]]
    if not unused:
        return None
    hint = rng.choice(unused)
    return {**config, "system_prompt": config["system_prompt"].rstrip() + "\n\n" + hint}, f"add hint: {hint!r}"


def _drop_hint(config: Config, rng: random.Random):
    used = [h for h in HINTS if h in config["system_prompt"]]
    if not used:
        return None
    hint = rng.choice(used)
    prompt = config["system_prompt"].replace("\n\n" + hint, "").replace(hint, "")
    return {**config, "system_prompt": prompt}, f"drop hint: {hint!r}"


def _drop_tool(config: Config, rng: random.Random):
    optional = [t for t in config["tools"] if t not in ESSENTIAL_TOOLS]
    if not optional:
        return None
    tool = rng.choice(optional)
    return {**config, "tools": [t for t in config["tools"] if t != tool]}, f"drop tool {tool}"


def _add_tool(config: Config, rng: random.Random):
    from swefarm.envs.tools import tool_kinds

    missing = [t for t in tool_kinds() if t not in config["tools"]]
    if not missing:
        return None
    tool = rng.choice(sorted(missing))
    tools = [t for t in config["tools"] if t != "submit"] + [tool] + (["submit"] if "submit" in config["tools"] else [])
    return {**config, "tools": tools}, f"add tool {tool}"


def _switch_format(config: Config, rng: random.Random):
    other = [f for f in FORMATS if f != config["tool_format"]]
    fmt = rng.choice(other)
    return {**config, "tool_format": fmt}, f"tool format {config['tool_format']} -> {fmt}"


def _scale(field: str, factor: float, low: float, high: float, integer: bool):
    def apply(config: Config, rng: random.Random):
        old = config[field]
        new = min(max(old * factor, low), high)
        new = int(round(new)) if integer else round(new, 3)
        if new == old:
            return None
        return {**config, field: new}, f"{field} {old:g} -> {new:g}"

    return apply


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("add_hint", "prompt", "a missing instruction may be why episodes go wrong", _add_hint),
        Operator("drop_hint", "prompt", "an instruction may cost more steps than it saves", _drop_hint),
        Operator("drop_tool", "tools", "fewer tools are fewer wrong choices", _drop_tool),
        Operator("add_tool", "tools", "a missing tool may force clumsy workarounds", _add_tool),
        Operator("switch_format", "tools", "the policy may call tools more reliably in another format", _switch_format),
        Operator("steps_up", "limits", "episodes may be cut off before they finish",
                 _scale("max_steps", 2, 1, 500, True)),
        Operator("steps_down", "limits", "a tighter budget may keep episodes focused",
                 _scale("max_steps", 0.5, 5, 500, True)),
        Operator("timeout_up", "limits", "commands may be killed before they finish",
                 _scale("command_timeout_s", 2, 5, 1800, False)),
        Operator("timeout_down", "limits", "hung commands may waste the budget",
                 _scale("command_timeout_s", 0.5, 5, 1800, False)),
        Operator("observation_up", "limits", "cut tool output may hide what matters",
                 _scale("max_observation_chars", 2, 1000, 200_000, True)),
        Operator("observation_down", "limits", "long tool output may drown the policy",
                 _scale("max_observation_chars", 0.5, 1000, 200_000, True)),
    )
}  # fmt: skip


def select_operators(names: list[str] | None) -> list[Operator]:
    """Operators by name or group ("prompt", "tools", "limits"); all of them for None."""
    if not names:
        return list(OPERATORS.values())
    chosen: dict[str, Operator] = {}
    for name in names:
        group = [op for op in OPERATORS.values() if op.group == name]
        if name in OPERATORS:
            group = [OPERATORS[name]]
        if not group:
            groups = sorted({op.group for op in OPERATORS.values()})
            raise ValueError(
                f"unknown operator {name!r}; groups: {', '.join(groups)}; operators: {', '.join(OPERATORS)}"
            )
        chosen.update({op.name: op for op in group})
    return list(chosen.values())
