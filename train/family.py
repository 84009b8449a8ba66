"""Build and validate the minilib task family into a task store, once; later calls reuse what is valid.

    tasks = ensure_family(store="~/.swefarm/tasks.db", progress=print)
    train_ids = [t.instance_id for t in tasks if t.extra["split"] == "train"]

The tasks go through the same pipeline as every imported or mined task
(`harness.pipeline.build_task` then `validate_task`): one environment image for
the whole family, a small task image per bug, then base and gold runs in fresh
containers that fill in FAIL_TO_PASS and PASS_TO_PASS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from swefarm.tasks.models import Task, TaskStatus
from swefarm.train import taskgen


class FamilyError(RuntimeError):
    """A task of the family could not be built or validated; the message holds the build or test log's tail."""


def family_tasks(store, split: str = "all", modules: list[str] | None = None) -> list[Task]:
    """The family's valid tasks in `store` (a TaskStore), optionally of one split ("train" | "heldout")."""
    tasks = [
        t
        for t in store.iter(repo=taskgen.REPO, status=TaskStatus.VALID)
        if (split == "all" or t.extra.get("split") == split) and (modules is None or t.extra.get("module") in modules)
    ]
    return sorted(tasks, key=lambda t: t.instance_id)


def ensure_family(
    store: str | Path | None = None,
    client=None,
    modules: list[str] | None = None,
    workdir: str | Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> list[Task]:
    """Every bug of the family (or of `modules`) built and valid in `store`; returns those tasks."""
    from swefarm.harness.images import task_image
    from swefarm.harness.pipeline import build_task, validate_task
    from swefarm.sandbox.bases import image_exists
    from swefarm.sandbox.engine import connect
    from swefarm.tasks.store import TaskNotFoundError, TaskStore

    from swefarm.settings import swefarm_home

    task_store = TaskStore(store)
    client = client or connect()
    bugs = [b for b in taskgen.all_bugs() if modules is None or b.function.module in modules]
    if not bugs:
        raise ValueError(f"no bugs in modules {modules}; known modules: {[f.module for f in taskgen.FUNCTIONS]}")
    root = Path(workdir) if workdir else swefarm_home() / "train"
    root.mkdir(parents=True, exist_ok=True)
    repo, commits = taskgen.make_repo(root, taskgen.all_bugs())
    out = []
    for n, bug in enumerate(bugs, 1):
        wanted = taskgen.make_task(bug, commits[bug.instance_id])
        try:
            stored = task_store.get(bug.instance_id)
        except TaskNotFoundError:
            stored = None
        if (
            stored is not None
            and stored.status == TaskStatus.VALID
            and stored.base_commit == wanted.base_commit
            and image_exists(client, task_image(stored))
        ):
            out.append(stored)
            continue
        progress(f"[{n}/{len(bugs)}] building {bug.instance_id}")
        task, outcome = build_task(client, wanted, {taskgen.REPO: repo}, log=lambda *a: None)
        if not outcome.ok:
            raise FamilyError(f"building {bug.instance_id} failed: {task.status_reason}")
        progress(f"[{n}/{len(bugs)}] validating {bug.instance_id}")
        task, outcome = validate_task(client, task, runs=1)
        task_store.put(task)
        if not outcome.ok:
            raise FamilyError(f"validating {bug.instance_id} failed: {task.status_reason}")
        out.append(task)
    return out
