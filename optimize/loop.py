"""The loop: evaluate the scaffold, then each round propose a change, evaluate it, keep it if it scores
higher than the best so far (a tie keeps the incumbent), and write down what happened.

Each candidate is evaluated first (as an inline config) and registered on the farm as the next version of
the scaffold only once its evaluation has finished, with the version it was derived from as its parent, the
change and its reason as its note, and the score and the decision in its metadata: the farm holds the history
too, and a round whose evaluation was refused or failed registers nothing (its memory entry says why).
A run's directory holds one run: `resume=True` continues it from its best scaffold, numbering rounds on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swefarm.api.client import SwefarmClient
from swefarm.api.contract.errors import ApiError, NotFoundError
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


class OptimizeError(RuntimeError):
    """The run cannot go on (or start); the message says why and what to do."""


UNREGISTERED = "(not registered)"


def _evaluate(client: SwefarmClient, config: dict, policy: str, tasks: Tasks, options: dict, wait_s: float | None):
    """Evaluate an inline config; (job, per-task mean reward). Registering it is the caller's call."""
    job = client.evaluate(policy, config=config, **tasks.request(), **options)
    job = client.wait(job.id, timeout=wait_s)
    per_task: dict[str, list[float]] = {}
    for item in client.results(job.id):
        if item.variant == "plain" and item.reward is not None and item.infra_error is None:
            per_task.setdefault(item.task_id, []).append(item.reward)
    return job, {task: sum(r) / len(r) for task, r in per_task.items()}


def _start(client: SwefarmClient, name: str, config: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """The starting config, and the version it already is on the farm (None: to be registered)."""
    from swefarm.api.contract.schemas import ScaffoldConfig

    if config:
        return ScaffoldConfig.model_validate(config).model_dump(), None
    try:
        latest = client.scaffold(name)
        return latest.config.model_dump(), latest.ref
    except NotFoundError:  # a new name starts from the default scaffold
        return ScaffoldConfig().model_dump(), None


def _resumed(client: SwefarmClient, name: str, memory: Memory, previous: Entry) -> tuple[str, float | None, dict]:
    """The best scaffold of the run being resumed: its version on this farm, registered again if the farm has
    it no more (a fresh --local farm); its config from the run's best.yaml."""
    import yaml

    best_config = yaml.safe_load((memory.directory / "best.yaml").read_text())
    best_name, best_version = previous.scaffold.split("@")
    try:
        client.scaffold(best_name, int(best_version))
        return previous.scaffold, previous.score, best_config
    except NotFoundError:
        note = f"resumed from {previous.scaffold} of the run in {memory.directory}"
        return client.create_scaffold(name, best_config, note=note).ref, previous.score, best_config


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
    resume: bool = False,
) -> Result:
    """Run the loop; `config` is the scaffold to start from (None: the latest version of `name`, or the default
    scaffold when the farm has no `name`). With `resume`, `memory` holds an earlier run to continue."""
    run = uuid.uuid4().hex[:8]
    options = {"perturbation": perturbation, "repeats": repeats, "seed": seed}
    previous = memory.best() if resume else None
    if resume and previous is None:
        raise OptimizeError(f"{memory.directory} holds no scored round to resume from")
    if not resume and memory.entries:
        raise OptimizeError(f"{memory.directory} already holds a run ({len(memory.entries)} rounds)")
    if previous is not None:
        best_ref, best_score, best_config = _resumed(client, name, memory, previous)
        result = Result(best_ref, best_score, best_config)
        first = memory.entries[-1].round + 1
    else:
        best_config, registered = _start(client, name, config)
        job, per_task = _evaluate(client, best_config, policy, tasks, options, wait_s)
        if job.status != "done" or job.summary.score is None:
            raise OptimizeError(
                f"the starting scaffold's evaluation {job.id} is {job.status}"
                f"{': ' + job.error if job.error else ''}; nothing was registered"
            )
        best_ref = registered or client.create_scaffold(name, best_config, note="optimisation start").ref
        best_score = job.summary.score
        entry = Entry(round=0, scaffold=best_ref, change="(the starting scaffold)", why="baseline", score=best_score,
                      best_before=None, decision="baseline", evaluation=job.id, config_hash=config_hash(best_config),
                      generalisation_gap=job.summary.generalisation_gap, resolved_rate=job.summary.resolved_rate,
                      per_task=per_task, note=job.error or "")  # fmt: skip
        result = Result(best_ref, best_score, best_config)
        _finish_round(client, memory, result, Round(entry, job), run, best_config, report)
        first = 1
    for number in range(first, first + rounds):
        proposal = proposer.propose(best_config, memory)
        if proposal is None:
            break  # nothing new to try
        try:
            job, per_task = _evaluate(client, proposal.config, policy, tasks, options, wait_s)
        except ApiError as exc:  # refused (a config the farm does not take): nothing ran, nothing registered
            job, per_task, refused = None, {}, f"the farm refused the evaluation: {exc.detail}"
        else:
            refused = ""
        score = None if job is None else job.summary.score
        ran = job is not None and job.status == "done" and score is not None
        better = ran and score is not None and (best_score is None or score > best_score)
        decision = "kept" if better else ("reverted" if ran else "failed")
        ref = UNREGISTERED
        if ran:
            version = client.create_scaffold(
                name, proposal.config, parent=int(best_ref.split("@")[1]),
                note=f"{proposal.change}\nwhy: {proposal.why}",
            )  # fmt: skip
            ref = version.ref
        entry = Entry(round=number, scaffold=ref, change=proposal.change, why=proposal.why, score=score,
                      best_before=best_score, decision=decision, evaluation=None if job is None else job.id,
                      config_hash=config_hash(proposal.config),
                      generalisation_gap=None if job is None else job.summary.generalisation_gap,
                      resolved_rate=None if job is None else job.summary.resolved_rate,
                      per_task=per_task, note=refused or (job.error or "" if job else ""))  # fmt: skip
        if better:
            best_ref, best_config, best_score = ref, proposal.config, score
            result.best_scaffold, result.best_config, result.best_score = best_ref, best_config, best_score
        _finish_round(client, memory, result, Round(entry, job), run, best_config, report)
    best_name, best_version = result.best_scaffold.split("@")
    meta = client.scaffold(best_name, int(best_version)).metadata
    meta["optimize"] = {**meta.get("optimize", {}), "best": True}
    client.amend_scaffold(best_name, int(best_version), metadata=meta)
    return result


def _finish_round(client, memory: Memory, result: Result, rnd: Round, run: str, best_config, report) -> None:
    e = rnd.entry
    if e.scaffold != UNREGISTERED:
        name, version = e.scaffold.split("@")
        meta = {"optimize": {"run": run, "round": e.round, "score": e.score, "decision": e.decision,
                             "evaluation": e.evaluation}}  # fmt: skip
        client.amend_scaffold(name, int(version), metadata=meta)
    memory.record(e)
    memory.save(best_config)
    result.rounds.append(rnd)
    report(rnd)
