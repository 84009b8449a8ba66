"""The loop: evaluate the scaffold, then each round propose a change, evaluate it, keep it if it scores
higher than the best so far (a tie keeps the incumbent), and write down what happened.

Each candidate is registered on the farm as the next version of the scaffold, with the version it
was derived from as its parent and the change and its reason as its note; after its evaluation its
metadata records the score and the decision, so the farm holds the history too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swefarm.api.client import SwefarmClient
from swefarm.api.contract.errors import NotFoundError
from swefarm.api.contract.schemas import EvaluationPublic
from swefarm.optimize.memory import Entry, Memory, config_hash
from swefarm.optimize.proposers import Proposer


@dataclass
class Tasks:
    """Which tasks each evaluation runs: explicit ids, or a split of the farm's valid tasks."""

    ids: list[str] | None = None
    split: str = "all"
    repo: str | None = None
    limit: int | None = None

    def request(self) -> dict[str, Any]:
        if self.ids:
            return {"tasks": self.ids}
        return {"split": self.split, "repo": self.repo, "limit": self.limit}


@dataclass
class Round:
    entry: Entry
    evaluation: EvaluationPublic | None = None


@dataclass
class Result:
    best_scaffold: str
    best_score: float | None
    best_config: dict[str, Any]
    rounds: list[Round] = field(default_factory=list)


def _evaluate(client: SwefarmClient, ref: str, policy: str, tasks: Tasks, options: dict, wait_s: float | None):
    job = client.evaluate(policy, scaffold=ref, **tasks.request(), **options)
    job = client.wait(job.id, timeout=wait_s)
    per_task: dict[str, list[float]] = {}
    for item in client.results(job.id):
        if item.variant == "plain" and item.reward is not None and item.infra_error is None:
            per_task.setdefault(item.task_id, []).append(item.reward)
    return job, {task: sum(r) / len(r) for task, r in per_task.items()}


def optimize(
    client: SwefarmClient,
    name: str,
    config: dict[str, Any] | None,
    policy: str,
    tasks: Tasks,
    rounds: int,
    proposer: Proposer,
    memory: Memory,
    perturbation: Any = None,
    repeats: int = 1,
    seed: int = 0,
    wait_s: float | None = None,
    report: Callable[[Round], None] = lambda r: None,
) -> Result:
    """Run the loop; `config` registers a new version of `name` to start from (None: its latest version, or the
    default scaffold when the farm has no `name`)."""
    run = uuid.uuid4().hex[:8]
    options = {"perturbation": perturbation, "repeats": repeats, "seed": seed}
    if config:
        start = client.create_scaffold(name, config, note="optimisation start")
    else:
        try:
            start = client.scaffold(name)
        except NotFoundError:  # a new name starts from the default scaffold
            start = client.create_scaffold(name, None, note="optimisation start (the default scaffold)")
    best_ref, best_config, best_score = start.ref, start.config.model_dump(), None
    job, per_task = _evaluate(client, best_ref, policy, tasks, options, wait_s)
    best_score = job.summary.score
    entry = Entry(round=0, scaffold=best_ref, change="(the starting scaffold)", why="baseline", score=best_score,
                  best_before=None, decision="baseline", evaluation=job.id, config_hash=config_hash(best_config),
                  generalisation_gap=job.summary.generalisation_gap, resolved_rate=job.summary.resolved_rate,
                  per_task=per_task, note=job.error or "")  # fmt: skip
    result = Result(best_ref, best_score, best_config)
    _finish_round(client, memory, result, Round(entry, job), run, best_config, report)
    for number in range(1, rounds + 1):
        proposal = proposer.propose(best_config, memory)
        if proposal is None:
            break  # nothing new to try
        version = client.create_scaffold(
            name, proposal.config, parent=int(best_ref.split("@")[1]), note=f"{proposal.change}\nwhy: {proposal.why}"
        )
        job, per_task = _evaluate(client, version.ref, policy, tasks, options, wait_s)
        score = job.summary.score
        better = score is not None and (best_score is None or score > best_score)
        decision = "kept" if better else ("failed" if job.status == "failed" else "reverted")
        entry = Entry(round=number, scaffold=version.ref, change=proposal.change, why=proposal.why, score=score,
                      best_before=best_score, decision=decision, evaluation=job.id,
                      config_hash=config_hash(version.config.model_dump()),
                      generalisation_gap=job.summary.generalisation_gap, resolved_rate=job.summary.resolved_rate,
                      per_task=per_task, note=job.error or "")  # fmt: skip
        if better:
            best_ref, best_config, best_score = version.ref, version.config.model_dump(), score
            result.best_scaffold, result.best_config, result.best_score = best_ref, best_config, best_score
        _finish_round(client, memory, result, Round(entry, job), run, best_config, report)
    best_name, best_version = result.best_scaffold.split("@")
    meta = client.scaffold(best_name, int(best_version)).metadata
    meta["optimize"] = {**meta.get("optimize", {}), "best": True}
    client.amend_scaffold(best_name, int(best_version), metadata=meta)
    return result


def _finish_round(client, memory: Memory, result: Result, rnd: Round, run: str, best_config, report) -> None:
    e = rnd.entry
    name, version = e.scaffold.split("@")
    meta = {"optimize": {"run": run, "round": e.round, "score": e.score, "decision": e.decision,
                         "evaluation": e.evaluation}}  # fmt: skip
    client.amend_scaffold(name, int(version), metadata=meta)
    memory.record(e)
    memory.save(best_config)
    result.rounds.append(rnd)
    report(rnd)
