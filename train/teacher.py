"""A teacher whose episodes are written in the student model's own tokens: the data of rejection-sampling SFT.

The teacher knows the gold patch (as the oracle does) but works the way a
model should: it views each file the patch touches (unless `look_first` is
off), replaces the changed lines (the single line when a hunk changes one and
that line is unique in what it has read, so the edit is as short as the
issue's own words), then submits, thinking a sentence before every call.

Its replies go through the student's `ModelPolicy` over a `TeacherEngine`, so
the trajectory is exactly what the student would have produced had it written
those replies: the same chat template, the same append-only context, the
`<think>` prefill, the end-of-turn id; `loss_mask` marks the teacher's tokens.
Logprobs are 0.0 (they are not the model's) and `token_note` says so: these
trajectories are for supervised fine-tuning, not for importance ratios.
"""

from __future__ import annotations

import time
from typing import Any

from swefarm.envs.models import ToolCall
from swefarm.policy.chat import THINK_OPEN, end_of_turn_ids
from swefarm.policy.engine import Generation
from swefarm.policy.interface import episode_format, tool_interface
from swefarm.policy.model_policy import ModelPolicy
from swefarm.policy.sampling import SamplingConfig
from unidiff import PatchSet

NOTE = "teacher-forced: the ids are the teacher's replies in the model's tokens; logprobs are not the model's"

# Thoughts are a sentence and quote no code: the edit turn (thought + call, ~100 tokens) fits the scaffold's turn
# with room to spare, and a small model sampled at temperature 0.7 has no code line in its thought to loop on.
_VIEW = (
    "The issue points at {path}. Let me read it first.",
    "Let me look at {path} before changing anything.",
    "First I read {path}.",
    "I will open {path} to see the code.",
)
_EDIT = (
    "The issue quotes the faulty line in {path}. I will fix it.",
    "That line is the bug; I replace it with the fix.",
    "The issue points at one wrong line. Fixing it now.",
    "I found the faulty line in {path}; replacing it.",
)
_SUBMIT = (
    "The fix is in place, so I submit.",
    "That was the only change needed. Submitting.",
    "Done: the line is fixed. I submit.",
    "The bug is fixed; submitting.",
)


class TeacherEngine:
    """An Engine that 'generates' the text it is handed: the teacher's reply, tokenised, closed by end-of-turn."""

    name = "teacher"

    def __init__(self, tokenizer, model: str, context_limit: int = 8192):
        self.tokenizer, self.model, self.context_limit = tokenizer, model, context_limit
        self.end_id = min(end_of_turn_ids(tokenizer))
        if tokenizer.eos_token_id is not None:
            self.end_id = int(tokenizer.eos_token_id)
        self.pending: str | None = None

    def generate(self, prompt_ids: list[int], sampling: SamplingConfig, max_new_tokens: int) -> Generation:
        if self.pending is None:
            raise RuntimeError("the teacher engine was asked for a turn before the teacher wrote one")
        ids = list(self.tokenizer.encode(self.pending, add_special_tokens=False)) + [self.end_id]
        self.pending = None
        return Generation(
            ids=ids,
            logprobs=[0.0] * len(ids),
            finish_reason="stop",
            seconds=0.0,
            prompt_ids=list(prompt_ids),
            notes=[NOTE],
        )

    def close(self) -> None:
        pass


class ScriptedTeacher:
    """View, fix, submit: the gold patch's edits as a model would make them (plain text replies, any format)."""

    def __init__(self, gold_patch: str, seed: int = 0, look_first: bool = True):
        self.files = {p.path: p for p in PatchSet(gold_patch)}
        self.seed, self.look_first = seed, look_first

    def begin(self, observation: str, info: dict[str, Any]) -> None:
        interface = tool_interface(info)
        self._names = {entry["kind"]: name for name, entry in interface.items()}
        self._arguments = {entry["kind"]: entry["arguments"] for entry in interface.values()}
        self._format = episode_format(info, interface)
        if "editor" not in self._names or "submit" not in self._names:
            raise ValueError("the teacher needs the editor and submit tools in the episode")
        self._plan = iter(self._replies())

    def act(self, observation: str, info: dict[str, Any]) -> str:
        self._last_observation = observation
        return next(self._plan)

    def _pick(self, options: tuple[str, ...], n: int) -> str:
        return options[(self.seed + n) % len(options)]

    def _call(self, kind: str, **arguments: Any) -> ToolCall:
        names = self._arguments.get(kind, {})
        return ToolCall(self._names[kind], {names.get(k, k): v for k, v in arguments.items()})

    def _replies(self):
        for n, (path, patched) in enumerate(self.files.items()):
            shown = None  # unseen: the changed line is trusted to be unique (a failed edit is rejected later)
            if self.look_first:
                view = self._call("editor", command="view", path=path)
                yield self._format.render([view], thinking=self._pick(_VIEW, n).format(path=path))
                shown = self._last_observation
            for hunk in patched:
                old, new = _edit(hunk, shown)
                thinking = self._pick(_EDIT, n).format(path=path)
                edit = self._call("editor", command="str_replace", path=path, old_str=old, new_str=new)
                yield self._format.render([edit], thinking=thinking)
        yield self._format.render([self._call("submit")], thinking=self._pick(_SUBMIT, len(self.files)))


def _edit(hunk, shown: str | None) -> tuple[str, str]:
    """(old, new) of one hunk: the changed line alone (stripped) when it is one line and unique in what the
    teacher read (`shown`; in the hunk when it read nothing), else the whole hunk."""
    removed = [line.value for line in hunk if line.is_removed]
    added = [line.value for line in hunk if line.is_added]
    if len(removed) == 1 and len(added) == 1:
        old, new = removed[0].strip(), added[0].strip()
        seen = shown if shown is not None else "".join(line.value for line in hunk.source_lines())
        if old and seen.count(old) == 1:
            return old, new
    old = "".join(line.value for line in hunk.source_lines())
    new = "".join(line.value for line in hunk.target_lines())
    return old, new


class TeacherPolicy:
    """The scripted teacher's replies recorded as the student model's turns (see the module docstring)."""

    def __init__(self, teacher: ScriptedTeacher, engine: TeacherEngine, sampling: SamplingConfig | None = None):
        self.teacher, self.engine = teacher, engine
        self.inner = ModelPolicy(engine, sampling or SamplingConfig(temperature=1.0))

    def begin(self, observation: str, info: dict[str, Any]) -> None:
        self.teacher.begin(observation, info)
        self.inner.begin(observation, info)

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        text = self.teacher.act(observation, info)
        prefill = THINK_OPEN if self.inner.sampling.think else ""
        if prefill and not text.startswith(prefill):
            text = f"</think>\n\n{text}"  # the student's turn opens with <think>: close it before the call
        self.engine.pending = text[len(prefill) :] if prefill and text.startswith(prefill) else text
        started = time.perf_counter()
        action = self.inner.act(observation, info)
        if isinstance(action, dict) and "content" in action:
            action["model_time_s"] = time.perf_counter() - started
        return action

    def finish(self, observation: str, info: dict[str, Any]) -> None:
        self.inner.finish(observation, info)

    def trajectory(self, **fields: Any):
        return self.inner.trajectory(**fields)

    @property
    def turns(self):
        return self.inner.turns


class TeacherFactory:
    """A PolicyFactory of teacher policies over the student's tokenizer (the rollout runner plays them)."""

    def __init__(self, model: str | None = None, sampling: dict | None = None, seed: int = 0, look_first: bool = True):
        from swefarm.policy.models import resolve_model
        from transformers import AutoConfig, AutoTokenizer

        path = resolve_model(model, log=lambda *a: None)
        limit = int(getattr(AutoConfig.from_pretrained(path), "max_position_embeddings", 0) or 2048)
        self.tokenizer, self.path, self.context_limit = AutoTokenizer.from_pretrained(path), path, limit
        self.sampling = SamplingConfig(**(sampling or {}))
        self.seed, self.look_first = seed, look_first
        self.name = f"teacher:{path}"
        self._count = 0

    def new(self, task: Any | None = None) -> TeacherPolicy:
        if task is None or not getattr(task, "patch", None):
            raise ValueError("the teacher needs the task (its gold patch)")
        self._count += 1
        teacher = ScriptedTeacher(task.patch, seed=self.seed + self._count, look_first=self.look_first)
        engine = TeacherEngine(self.tokenizer, self.path, self.context_limit)  # one per episode: it holds a reply
        return TeacherPolicy(teacher, engine, self.sampling)

    def close(self) -> None:
        pass
