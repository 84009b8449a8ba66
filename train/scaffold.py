"""The scaffold and sampling the learning run trains and evaluates with (the same before and after training).

A 135M model on a CPU pays for every prompt token on every turn and every
training step, so the run's scaffold is lean: the editor and submit tools with
a short description, a short system prompt, few steps. It is an `EnvConfig`
like any other (a trainer may pass its own); the bench reports which it used.
"""

from __future__ import annotations

from typing import Any

SYSTEM_PROMPT = """You fix bugs in the repository at {workdir}. Each turn: think briefly inside <think></think>, \
then call one tool. When the fix is made, call {submit}.

{tool_instructions}"""

ENV_CONFIG: dict[str, Any] = {
    "tools": ["editor", "submit"],
    "tool_descriptions": {
        "editor": "View and edit files. `view` shows a file with line numbers; `str_replace` replaces old_str "
        "(which must occur exactly once in the file) with new_str.",
        "submit": "Submit the fix and end the task.",
    },
    "system_prompt": SYSTEM_PROMPT,
    "max_steps": 2,  # an edit and a submit; a truncated episode is still graded (grade_on_truncation)
    "pool_size": 1,
    "grade_timeout_s": 300.0,
}

SAMPLING: dict[str, Any] = {"temperature": 0.7, "max_new_tokens": 160}  # a teacher edit turn is ~100 tokens


def env_config(**overrides: Any) -> dict[str, Any]:
    return {**ENV_CONFIG, **overrides}
