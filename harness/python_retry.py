"""A second chance on a newer Python: when validation finds the task's new tests skipped because the
Python is too old (a version check, or a module the standard library gained later, like `tomllib`).

The skip reasons are read from one more gold run of just those tests (pytest's `-rA` summary lists
`SKIPPED [n] path:line: reason`); only a reason that names a Python version or a missing module
earns the retry, so a test skipped for want of a service or a platform does not.
"""

from __future__ import annotations

import re

from swefarm.harness.images import sandbox_config
from swefarm.harness.testrun import InfraError, apply_patch, files_after, run_tests
from swefarm.sandbox.errors import SandboxError
from swefarm.sandbox.provider import as_provider
from swefarm.tasks.models import Task

_SKIP_LINE = re.compile(r"^SKIPPED \[\d+\] (?P<where>[^:]+(?::\d+)?): (?P<reason>.+)$", re.M)
_PYTHON_REASON = re.compile(
    r"python\s*(version\s*)?(>=?|<=?|==|3\.\d+)|requires?\s+python|python\s*3\.\d+\s*(or\s+(newer|later|above)|\+)|"
    r"sys\.version_info|No module named|could not import|ModuleNotFoundError|ImportError",
    re.IGNORECASE,
)


def skipped_targets(task: Task, runs) -> list[str]:
    """Tests of the test patch's files that every gold run skipped."""
    files = set(files_after(task.test_patch))
    gold = [r for r in runs if r.label.startswith("gold") and r.label != "gold-selected"]
    if not gold:
        return []
    skipped = set.intersection(*({t for t, s in r.outcomes.items() if s == "skipped"} for r in gold))
    return sorted(t for t in skipped if t.split("::", 1)[0] in files or not files)


def skip_reasons(client, image: str, task: Task, tests: list[str], timeout: float = 900) -> list[str]:
    """Why `tests` are skipped in the gold state, as pytest reports it."""
    try:
        with as_provider(client).start(image, sandbox_config()) as sb:
            for name, diff in (("gold", task.patch), ("tests", task.test_patch)):
                ok, _ = apply_patch(sb, diff, name)
                if not ok:
                    return []
            run = run_tests(sb, task, tests, timeout=timeout)
    except (SandboxError, InfraError):
        return []
    return [m.group("reason").strip() for m in _SKIP_LINE.finditer(run.log_tail)]


def wants_newer_python(reasons: list[str]) -> bool:
    """Whether a skip reason says the Python is too old or a module is missing."""
    return any(_PYTHON_REASON.search(r) for r in reasons)
