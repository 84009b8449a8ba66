"""Where an env's tasks come from: one fixed task, or a seeded draw from a dataset per reset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import numpy as np
from swefarm.tasks.models import Task, TaskStatus
from swefarm.tasks.store import TaskStore

SPLITS = ("all", "train", "test")


class TaskSource(Protocol):
    def draw(self, rng: np.random.Generator) -> Task:
        """The task for the next episode (consumes randomness from `rng`)."""

    def upcoming(self, rng: np.random.Generator) -> Task | None:
        """The task `draw` will give next, given a copy of the env's RNG; None if it is always the same."""

    def preview(self) -> list[Task]:
        """Tasks worth checking before the first reset (images built, tests known)."""


class FixedTask:
    def __init__(self, task: Task):
        self.task = task

    def draw(self, rng: np.random.Generator) -> Task:
        return self.task

    def upcoming(self, rng: np.random.Generator) -> Task | None:
        return None

    def preview(self) -> list[Task]:
        return [self.task]


class DatasetSampler:
    """Uniform draws over a fixed list of valid tasks, so a seed always picks the same sequence."""

    def __init__(self, tasks: list[Task], name: str):
        if not tasks:
            raise ValueError(f"no valid tasks in {name}; build and validate some first (swefarm validate)")
        self.tasks = sorted(tasks, key=lambda t: t.instance_id)

    def draw(self, rng: np.random.Generator) -> Task:
        return self.tasks[int(rng.integers(len(self.tasks)))]

    def upcoming(self, rng: np.random.Generator) -> Task | None:
        return self.draw(rng)

    def preview(self) -> list[Task]:
        return []


def split_bucket(instance_id: str) -> float:
    """Where a task falls in [0, 1) by a hash of its id: below the test fraction is the test split."""
    return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:8], "big") / 2**64


def in_split(instance_id: str, split: str, test_fraction: float) -> bool:
    """A stable split by hash of the id: the same task lands in the same split everywhere."""
    if split == "all":
        return True
    return (split_bucket(instance_id) < test_fraction) == (split == "test")


def load_source(
    task: Task | str | None = None,
    store: str | Path | None = None,
    dataset: str | Path | None = None,
    split: str = "all",
    repo: str | None = None,
    test_fraction: float = 0.2,
) -> TaskSource:
    """A fixed task (an object, or an id looked up in `store`), or a sampler over `dataset`.

    `dataset` is a task store (a .db file) or a JSONL file of tasks (swefarm's or SWE-bench's
    format); by default the user's task store.
    """
    if task is not None:
        return FixedTask(task if isinstance(task, Task) else TaskStore(store).get(task))
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    path = Path(dataset).expanduser() if dataset is not None else None
    if path is not None and not path.exists():
        raise FileNotFoundError(f"dataset {path} does not exist")
    if path is not None and path.suffix in (".jsonl", ".json"):
        from swefarm.tasks.importers import read_tasks

        candidates = [t for t in read_tasks(path) if t.status == TaskStatus.VALID and (repo is None or t.repo == repo)]
    else:
        candidates = list(TaskStore(path).iter(repo=repo, status=TaskStatus.VALID))
    chosen = [t for t in candidates if in_split(t.instance_id, split, test_fraction)]
    return DatasetSampler(chosen, f"{path or 'the task store'} (split {split})")
