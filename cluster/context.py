"""What an episode function gets on its sandbox host: the node's engine, cached policies, a task store."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


class HostContext:
    """What an episode function gets on its host: the node's engine, cached policies, a task store."""

    def __init__(self, client, node_id: str, work_dir: Path, pool_size: int):
        self.client, self.node_id, self.pool_size = client, node_id, pool_size
        self.work_dir = work_dir
        self._factories: dict[str, Any] = {}
        self._lock = threading.Lock()

    def policy(self, spec: str, options: dict | None = None):
        """The policy factory for (spec, options), loaded once on this host; PolicyUnavailableError if it cannot be."""
        from swefarm.cluster.errors import PolicyUnavailableError
        from swefarm.policy.factory import load_policy

        key = json.dumps([spec, options or {}], sort_keys=True, default=str)
        with self._lock:
            if key not in self._factories:
                try:
                    self._factories[key] = load_policy(spec, **(options or {}))
                except Exception as exc:
                    raise PolicyUnavailableError(
                        f"the policy {spec!r} could not be loaded: {type(exc).__name__}: {exc}"
                    ) from None
            return self._factories[key]

    def store_with(self, *tasks) -> Path:
        """A task store on this node holding `tasks` (the caller ships tasks; nodes need no shared store)."""
        from swefarm.tasks.store import TaskStore

        path = self.work_dir / "tasks.db"
        store = TaskStore(path)
        for task in tasks:
            store.put(task)
        return path

    def close(self) -> None:
        for factory in self._factories.values():
            try:
                factory.close()
            except Exception:
                pass
        self._factories.clear()
