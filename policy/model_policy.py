"""The policy every model backend shares: interleaved thinking over an append-only token context.

Each turn: the context gets the env's answer to the last turn (rendered by
`ChatRenderer`, never re-rendering earlier turns), then the thinking prefill
(`<think>` when `sampling.think`), then the engine generates. The turn the env
reads is the prefill plus the decoded completion, so thinking and tool calls
reach the env exactly as the model wrote them; the env's parser strips the
thinking and explains any malformed call, which the model reads next turn.

When the context has no room left for a turn, the policy ends the episode as
truncated (`{"truncate": "context limit ..."}`); nothing is ever cut silently.
"""

from __future__ import annotations

from typing import Any

from swefarm.envs.models import ParseError
from swefarm.policy.chat import THINK_OPEN, ChatRenderer
from swefarm.policy.engine import Engine, Generation
from swefarm.policy.interface import episode_format
from swefarm.policy.sampling import SamplingConfig
from swefarm.policy.trajectory import Trajectory, TurnRecord, assemble


class ModelPolicy:
    """One episode's policy over a shared engine."""

    def __init__(self, engine: Engine, sampling: SamplingConfig | None = None, observation_role: str = "auto"):
        self.engine = engine
        self.sampling = sampling or SamplingConfig()
        self.renderer = ChatRenderer(engine.tokenizer, observation_role)
        self.context_limit = min(self.sampling.context_limit or engine.context_limit, engine.context_limit)
        self._prefill = self.renderer.encode(THINK_OPEN) if self.sampling.think else []
        self._prefill_text = THINK_OPEN if self.sampling.think else ""

    # -- the Policy protocol -------------------------------------------------------------------
    def begin(self, observation: str, info: dict[str, Any]) -> None:
        self.turns: list[TurnRecord] = []
        self.notes: list[str] = []
        self.exact = True
        self.truncated_by: str | None = None
        self._ids: list[int] = []
        self._seen = 0  # messages of info["messages"] already in the context
        self._tools, self._format = info.get("tools", []), None
        try:
            self._format = episode_format(info)
        except (KeyError, ValueError):
            pass  # an env that does not say its format: turns are recorded without their parsed calls

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        messages = info["messages"]
        if not self.turns:
            self._ids = self.renderer.start(messages)
        else:
            self._observe(observation, info)
            new = [m for m in messages[self._seen :] if m["role"] != "assistant"]
            closed = bool(self.turns[-1].completion_ids) and self.turns[-1].completion_ids[-1] in self.renderer.end_ids
            self._ids = self._ids + self.renderer.continuation(new, closed)
        self._seen = len(messages)
        prompt = self._ids + self._prefill
        room = self.context_limit - len(prompt)
        if room < self.sampling.min_turn_tokens:
            self.truncated_by = f"context limit ({len(prompt)} of {self.context_limit} tokens used)"
            return {"truncate": self.truncated_by}
        generation = self.engine.generate(prompt, self.sampling, min(self.sampling.max_new_tokens, room))
        return self._record(prompt, generation)

    def finish(self, observation: str, info: dict[str, Any]) -> None:
        """The episode ended: keep the env's last answer and timing on the last turn."""
        if self.turns:
            self._observe(observation, info)

    # -- the record ---------------------------------------------------------------------------------
    def _record(self, prompt: list[int], generation: Generation) -> dict[str, Any]:
        if generation.prompt_ids is not None and generation.prompt_ids != prompt:
            raise RuntimeError(
                f"{self.engine.name} saw a different prompt than the policy sent "
                f"({len(generation.prompt_ids)} vs {len(prompt)} ids): the context would not be token-exact"
            )
        if not generation.exact:
            self.exact = False
        for note in generation.notes:
            if note not in self.notes:
                self.notes.append(note)
        completion = generation.text if generation.text is not None else self.renderer.decode(generation.ids)
        text = self._prefill_text + _visible(completion, generation.ids, self.renderer.end_ids, self.renderer)
        turn = TurnRecord(
            index=len(self.turns),
            prompt_ids=list(prompt),
            completion_ids=list(generation.ids),
            logprobs=generation.logprobs,
            text=text,
            thinking=_thinking(text),
            finish_reason=generation.finish_reason,
            model_time_s=round(generation.seconds, 6),
        )
        if self._format is not None:
            try:
                turn.tool_calls = [
                    {"name": c.name, "arguments": c.arguments} for c in self._format.parse(text, self._tools)
                ]
            except ParseError as exc:
                turn.parse_error = str(exc)
        self.turns.append(turn)
        self._ids = prompt + list(generation.ids)
        return {"content": text, "model_time_s": generation.seconds, "tokens": len(generation.ids)}

    def _observe(self, observation: str, info: dict[str, Any]) -> None:
        last = self.turns[-1]
        last.observation = observation
        last.env_time_s = float(info.get("timing", {}).get("step_s", 0.0))

    def trajectory(self, **fields: Any) -> Trajectory:
        """This episode's record; `fields` fill in the episode's metadata (task, reward, ...)."""
        ids, mask, logprobs = assemble(self.turns)
        return Trajectory(
            turns=self.turns,
            token_ids=ids,
            loss_mask=mask,
            logprobs=logprobs,
            model=self.engine.model,
            sampling=self.sampling.model_dump(),
            token_ids_exact=self.exact and all(t.logprobs is not None for t in self.turns),
            token_note="; ".join(self.notes) or None,
            model_time_s=round(sum(t.model_time_s for t in self.turns), 6),
            **fields,
        )


def _visible(completion: str, ids: list[int], end_ids: set[int], renderer: ChatRenderer) -> str:
    """The completion's text without the end-of-turn token the model closed it with."""
    if ids and ids[-1] in end_ids:
        end = renderer.decode([ids[-1]])
        if end and completion.endswith(end):
            return completion[: -len(end)]
    return completion


def _thinking(text: str) -> str:
    """The reasoning of a turn: what precedes the calls, inside <think> (or before a lone </think>)."""
    if "</think>" in text:
        head = text[: text.find("</think>")]
        return head.split("<think>", 1)[-1].strip()
    if "<think>" in text:  # never closed: the whole rest was thinking
        return text.split("<think>", 1)[1].strip()
    return ""


class ModelFactory:
    """A factory over one engine: every episode gets its own ModelPolicy, all share the model."""

    def __init__(self, engine: Engine, sampling: SamplingConfig | dict | None = None, observation_role: str = "auto"):
        self.engine = engine
        self.sampling = sampling if isinstance(sampling, SamplingConfig) else SamplingConfig(**(sampling or {}))
        self.observation_role = observation_role
        self.name = f"{engine.name}:{engine.model}"

    def new(self, task: Any | None = None) -> ModelPolicy:
        return ModelPolicy(self.engine, self.sampling, self.observation_role)

    def close(self) -> None:
        self.engine.close()


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(sampling fields, everything else) out of one options dict; a `sampling` dict inside is merged in."""
    sampling = dict(options.pop("sampling", None) or {})
    rest = {}
    for key, value in options.items():
        (sampling if key in SamplingConfig.model_fields else rest)[key] = value
    return sampling, rest
