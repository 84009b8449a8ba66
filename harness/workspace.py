"""Grading what an agent left in its episode's sandbox: its change extracted, then graded in a fresh container.

    report = grade_workspace(sandbox, task)   # at the end of an episode

The agent's processes are stopped, its change read with pinned git (harness/incontainer.py),
and graded by harness/grade.py. When the change cannot be read, the rule of harness/failures.py
decides whose failure it was: the agent's (a broken workspace, memory it exhausted) is graded
with a failure code; a sandbox stopped from outside, or an image in which the empty patch does
not grade either, is `infra_error`.
"""

from __future__ import annotations

import time

import docker
import docker.errors
import requests.exceptions
from swefarm.harness.failures import INFRA_ERRORS, AgentFailure, GradeFailure, classify
from swefarm.harness.grade import GradeReport, confirm, failed, grade, limit_failure
from swefarm.harness.images import task_image
from swefarm.harness.incontainer import extract_change
from swefarm.harness.testrun import InfraError
from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import OutOfMemoryError, SandboxError
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.provider import SandboxProvider, as_provider
from swefarm.tasks.models import Task


def grade_workspace(
    sb: Sandbox,
    task: Task,
    client: docker.DockerClient | SandboxProvider | None = None,
    image: str | None = None,
    timeout: float = 1800,
    box: SandboxConfig | None = None,
) -> GradeReport:
    """Grade the change in `sb`'s workspace against `task` (see the module docstring), in a sandbox from
    `client` (a provider, or a Docker client; default: connect)."""
    provider = as_provider(client)
    image = image or task_image(task)
    start = time.monotonic()
    try:
        data = extract_change(sb)
    except (AgentFailure, InfraError) as exc:
        code = exc.code if isinstance(exc, AgentFailure) else GradeFailure.GRADING_ERROR
        code = limit_failure(sb) or code if code != GradeFailure.PATCH_TOO_LARGE else code
        report = confirm(failed(task, code, str(exc)), task, provider, image, timeout, box)
    except SandboxError as exc:
        report = _sandbox_failed(sb, task, exc, provider, image, timeout, box)
    else:
        return grade(task, data, provider, image, timeout, sandbox=box)
    report.duration = round(time.monotonic() - start, 3)
    return report


def grade_after_error(
    sb: Sandbox,
    task: Task,
    error: SandboxError,
    client: docker.DockerClient | SandboxProvider | None = None,
    image: str | None = None,
    timeout: float = 1800,
    box: SandboxConfig | None = None,
) -> GradeReport:
    """The grade of an episode whose sandbox failed during a step: its work as it stands while the
    sandbox lives (what a command broke is the agent's), else as `_sandbox_failed` decides."""
    if alive(sb) and not isinstance(error, OutOfMemoryError):
        return grade_workspace(sb, task, client, image, timeout, box)
    provider = as_provider(client)
    image = image or task_image(task)
    start = time.monotonic()
    report = _sandbox_failed(sb, task, error, provider, image, timeout, box)
    report.duration = round(time.monotonic() - start, 3)
    return report


def _sandbox_failed(
    sb, task: Task, exc: SandboxError, provider: SandboxProvider, image: str, timeout: float, box: SandboxConfig | None
) -> GradeReport:
    """The episode's sandbox failed while its change was read: the agent's doing unless it is gone, or the
    engine or the image failed."""
    if isinstance(exc, OutOfMemoryError):
        return confirm(failed(task, GradeFailure.OOM, str(exc)), task, provider, image, timeout, box)
    if isinstance(exc, INFRA_ERRORS) or not alive(sb):
        report = failed(task)
        report.infra_error = f"{type(exc).__name__}: reading the agent's change: {exc}"
        return report
    code = limit_failure(sb) or classify(exc)
    return confirm(failed(task, code, f"{type(exc).__name__}: {exc}"), task, provider, image, timeout, box)


def alive(sb: Sandbox) -> bool:
    """Whether the sandbox's container still runs (an agent cannot stop it: its init is root's)."""
    container = getattr(sb, "container", None)
    if container is None:
        return True
    try:
        container.reload()
        return container.status == "running"
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False
