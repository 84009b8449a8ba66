"""The farm's tasks as clients see them: read-only, and without anything that gives the answer away."""

from __future__ import annotations

from datetime import datetime

from swefarm.api.contract.errors import InvalidRequestError, NotFoundError
from swefarm.api.contract.schemas import TaskPage, TaskPublic


class TaskCatalog:
    def __init__(self, path: str | None):
        from swefarm.tasks.store import TaskStore

        self.store = TaskStore(path)

    def get(self, instance_id: str):
        """The full task (for the farm's own use); NotFoundError if the store has none with this id."""
        from swefarm.tasks.store import TaskNotFoundError

        try:
            return self.store.get(instance_id)
        except TaskNotFoundError:
            raise NotFoundError(f"no task {instance_id!r} on this farm") from None

    def page(
        self,
        repo: str | None,
        status: str | None,
        created_after: datetime | None,
        created_before: datetime | None,
        offset: int,
        limit: int,
    ) -> TaskPage:
        from swefarm.tasks.models import TaskStatus

        if status is not None and status not in {s.value for s in TaskStatus}:
            raise InvalidRequestError(f"unknown status {status!r}; one of {', '.join(s.value for s in TaskStatus)}")
        total = self.store.count(repo=repo, status=status, created_after=created_after, created_before=created_before)
        tasks = list(self.store.iter(repo=repo, status=status, created_after=created_after,
                                     created_before=created_before, limit=offset + limit))[offset:]  # fmt: skip
        return TaskPage(items=[TaskPublic.of(t) for t in tasks], total=total, offset=offset, limit=limit)

    def select(self, ids: list[str] | None, split: str, repo: str | None, limit: int | None, test_fraction: float):
        """Ids of the valid tasks an evaluation runs: the given ones (each must be valid), or a stable split."""
        from swefarm.envs.sources import in_split
        from swefarm.tasks.models import TaskStatus

        if ids is not None:
            missing, invalid = [], []
            for instance_id in dict.fromkeys(ids):
                try:
                    task = self.get(instance_id)
                except NotFoundError:
                    missing.append(instance_id)
                    continue
                if task.status != TaskStatus.VALID:
                    invalid.append(instance_id)
            if missing or invalid:
                parts = [f"no such task(s): {missing[:20]}"] if missing else []
                parts += [f"not validated (run swefarm validate): {invalid[:20]}"] if invalid else []
                raise InvalidRequestError("; ".join(parts))
            chosen = list(dict.fromkeys(ids))
        else:
            chosen = [
                t.instance_id
                for t in self.store.iter(repo=repo, status=TaskStatus.VALID)
                if in_split(t.instance_id, split, test_fraction)
            ]
        if limit is not None:
            chosen = chosen[:limit]
        if not chosen:
            raise InvalidRequestError(f"no valid task matches (split {split}, repo {repo or 'any'})")
        return chosen
