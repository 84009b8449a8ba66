"""SWE-bench, SWE-bench Lite / Verified and SWE-Gym records (one schema) as tasks."""

from __future__ import annotations

import re
from typing import Any

from swefarm.tasks.models import Task

_PR_SUFFIX = re.compile(r"-(\d+)$")


def from_swebench(record: dict[str, Any], source: str = "swe-bench") -> Task:
    """A task from one SWE-bench-schema record; the PR number and URL come from the instance id."""
    task = Task.model_validate(record)
    return with_provenance(task, source)


def with_provenance(task: Task, source: str) -> Task:
    """Fill what the record implies: source name, test files, and the PR its id names (`owner__repo-123`)."""
    prov = task.provenance
    updates: dict[str, Any] = {"source": source or prov.source}
    match = _PR_SUFFIX.search(task.instance_id)
    if match and prov.pr_number is None:
        updates["pr_number"] = int(match.group(1))
        updates["pr_url"] = prov.pr_url or f"https://github.com/{task.repo}/pull/{match.group(1)}"
    env = task.environment
    test_files = env.test_files or task.test_files()
    return task.model_copy(
        update={
            "provenance": prov.model_copy(update=updates),
            "environment": env.model_copy(update={"test_files": test_files}),
        }
    )
