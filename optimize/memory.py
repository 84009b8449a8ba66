"""The loop's written memory: what was tried, why, what it scored, and whether it was kept.

Two files in the run's directory: `history.json` (every round, for tools and `--show`) and
`memory.md` (the same, written for a reader: a person, or the model that proposes the next change).
Configs are remembered by a hash, so no change is evaluated twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


class Entry(BaseModel):
    round: int
    scaffold: str  # name@version on the farm
    change: str
    why: str
    score: float | None
    best_before: float | None
    decision: str  # baseline | kept | reverted | failed
    evaluation: str | None = None
    generalisation_gap: float | None = None
    resolved_rate: float | None = None
    config_hash: str
    per_task: dict[str, float] = Field(default_factory=dict)
    note: str = ""


class Memory:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.entries: list[Entry] = []
        history = self.directory / "history.json"
        if history.exists():
            self.entries = [Entry.model_validate(e) for e in json.loads(history.read_text())["rounds"]]

    @property
    def tried(self) -> set[str]:
        return {e.config_hash for e in self.entries}

    def best(self) -> Entry | None:
        kept = [e for e in self.entries if e.decision in ("baseline", "kept") and e.score is not None]
        return kept[-1] if kept else None

    def record(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.save()

    def save(self, best_config: dict[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"rounds": [e.model_dump() for e in self.entries]}
        best = self.best()
        if best is not None:
            data["best"] = {"scaffold": best.scaffold, "score": best.score, "round": best.round}
        (self.directory / "history.json").write_text(json.dumps(data, indent=2))
        (self.directory / "memory.md").write_text(self.text())
        if best_config is not None:
            import yaml

            (self.directory / "best.yaml").write_text(yaml.safe_dump(best_config, sort_keys=False))

    def text(self) -> str:
        """The memory as Markdown: one paragraph per round, newest last."""
        lines = ["# Scaffold optimisation memory", ""]
        for e in self.entries:
            score = "n/a" if e.score is None else f"{e.score:.3f}"
            before = "" if e.best_before is None else f" (best before: {e.best_before:.3f})"
            lines.append(f"## Round {e.round}: {e.decision} — {e.scaffold}")
            lines.append(f"- change: {e.change}")
            lines.append(f"- why: {e.why}")
            lines.append(f"- score: {score}{before}; evaluation {e.evaluation or '-'}")
            if e.generalisation_gap is not None:
                lines.append(f"- generalisation gap: {e.generalisation_gap:+.3f}")
            if e.per_task:
                lines.append("- per task: " + ", ".join(f"{t} {r:.2f}" for t, r in sorted(e.per_task.items())))
            if e.note:
                lines.append(f"- note: {e.note}")
            lines.append("")
        return "\n".join(lines)
