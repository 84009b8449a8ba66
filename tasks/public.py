"""What anyone outside the task factory may see of a task: the agent (in the env's `info["task"]`) and API
clients (`TaskPublic`). The one place that decides it.

Never the gold patch, the test patch, the tests' names or the PR that fixed the issue (its number
and URL lead to the fix); the issue itself is the problem statement. Counts of the hidden tests are
fine: they say how the episode is graded, not what passes it.
"""

from __future__ import annotations

from typing import Any

from swefarm.tasks.models import Task

#: The long texts the agent reads in its prompt instead (the env leaves them out of `info["task"]`).
TEXTS = ("problem_statement", "hints_text")


def public_view(task: Task) -> dict[str, Any]:
    """Every field of `task` that may leave the factory, JSON-ready."""
    return {
        "instance_id": task.instance_id,
        "repo": task.repo,
        "base_commit": task.base_commit,
        "version": task.version,
        "language": task.language,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "status": task.status.value,
        "license": task.provenance.license,
        "fail_to_pass_count": len(task.FAIL_TO_PASS),
        "pass_to_pass_count": len(task.PASS_TO_PASS),
        "problem_statement": task.problem_statement,
        "hints_text": task.hints_text,
    }


def agent_view(task: Task) -> dict[str, Any]:
    """What the env puts in `info["task"]`: the public view without the texts the prompt already carries."""
    return {key: value for key, value in public_view(task).items() if key not in TEXTS}
