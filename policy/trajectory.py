"""Trajectories as trainers read them: token-exact turns, and whole episodes with their rewards.

Per turn: the prompt ids the model was given (the whole context, which is
append-only: each prompt starts with the previous prompt plus the previous
completion), the ids it generated with their logprobs, the text (thinking and
tool calls as parsed) and the observation it got back, with model and env time.

Per episode: `token_ids` is the final context plus the last completion, and
`loss_mask` marks which of those ids the model wrote (1) and which the
environment or the chat template put there (0); `logprobs` lines up with it
(0.0 where the mask is 0). `token_ids_exact` is False when a backend could
not return the ids it sampled (then `token_note` says why), and such an
episode should not be trained on token by token.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class TurnRecord(BaseModel):
    index: int
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float] | None = None  # of each completion id, under the distribution it was sampled from
    text: str = ""  # the whole assistant turn as the env read it (the thinking prefill included)
    thinking: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    parse_error: str | None = None
    observation: str = ""  # what the env answered
    finish_reason: str = ""  # stop (end of turn or a stop sequence) | length (max_new_tokens)
    model_time_s: float = 0.0
    env_time_s: float = 0.0


class Trajectory(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    task: str = ""
    repo: str = ""
    episode: int = 0
    seed: int | None = None
    policy: str = ""
    model: str = ""
    scaffold: dict[str, Any] = Field(default_factory=dict)  # tool format, tool names, env limits
    perturbation: Any = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    reward: float = 0.0
    reward_components: dict[str, Any] = Field(default_factory=dict)
    resolved: bool = False
    terminated: bool = False
    truncated: bool = False
    truncated_by: str | None = None
    infra_error: str | None = None
    error: str | None = None  # the rollout itself failed (the model backend, say)
    steps: int = 0
    wall_s: float = 0.0
    model_time_s: float = 0.0
    env_time_s: float = 0.0
    token_ids_exact: bool = True
    token_note: str | None = None
    token_ids: list[int] = Field(default_factory=list)
    loss_mask: list[int] = Field(default_factory=list)
    logprobs: list[float] = Field(default_factory=list)
    turns: list[TurnRecord] = Field(default_factory=list)


def assemble(turns: list[TurnRecord]) -> tuple[list[int], list[int], list[float]]:
    """The episode's single sequence, its loss mask and aligned logprobs, from append-only turns.

    Raises ValueError if the turns are not append-only (a turn's prompt does not
    start with the previous prompt plus the previous completion).
    """
    ids: list[int] = []
    mask: list[int] = []
    logprobs: list[float] = []
    for turn in turns:
        if turn.prompt_ids[: len(ids)] != ids:
            raise ValueError(f"turn {turn.index}'s prompt does not extend the context before it")
        added = turn.prompt_ids[len(ids) :]
        ids += added + turn.completion_ids
        mask += [0] * len(added) + [1] * len(turn.completion_ids)
        lps = turn.logprobs if turn.logprobs is not None else [0.0] * len(turn.completion_ids)
        logprobs += [0.0] * len(added) + list(lps)
    return ids, mask, logprobs


def write_jsonl(trajectories: Iterable[Trajectory], path: str | Path) -> int:
    """Append trajectories to a JSONL file (one per line); returns how many."""
    n = 0
    with open(path, "a", encoding="utf-8") as fh:
        for trajectory in trajectories:
            fh.write(trajectory.model_dump_json() + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> Iterator[Trajectory]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield Trajectory.model_validate_json(line)


def write_parquet(trajectories: Iterable[Trajectory], path: str | Path) -> int:
    """One row per episode; turns as a list of structs. Needs pyarrow (pip install pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise RuntimeError("writing Parquet needs pyarrow: pip install pyarrow") from exc
    rows = [json.loads(t.model_dump_json()) for t in trajectories]
    for row in rows:  # free-form fields go as JSON text: their shapes differ between episodes
        for key in ("scaffold", "perturbation", "sampling", "reward_components"):
            row[key] = json.dumps(row[key])
        for turn in row["turns"]:
            turn["tool_calls"] = json.dumps(turn["tool_calls"])
    pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)
