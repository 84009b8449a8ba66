"""Why grading an agent's change did not end in a normal test report, as a code a trainer can count.

The rule that splits the agent's failures from the platform's: a failure is the
agent's when the empty patch grades normally in the same image (the engine, the
image and the harness work, so what broke was the change, or what the agent did to
its workspace). Those are graded as not resolved with one of these codes and scored
by the reward spec like any failed attempt. Only failures the agent cannot cause (the
engine or the image gone, host resources outside the sandbox's limits, a bug in the
harness) are `infra_error`, never scored.
"""

from __future__ import annotations

from enum import StrEnum

from swefarm.harness.parsers import ParseError
from swefarm.sandbox.errors import (
    EngineUnavailableError,
    ImageMissingError,
    OutOfDiskError,
    OutOfMemoryError,
    ProcessLimitError,
    SandboxClosedError,
    SandboxDiedError,
    SandboxError,
    SandboxLimitError,
    SetupError,
    WorkspaceFullError,
)


class GradeFailure(StrEnum):
    PATCH_TOO_LARGE = "patch_too_large"  # the change is over the size limit
    PATCH_INVALID = "patch_invalid"  # git apply refuses the change on the base commit
    WORKSPACE_BROKEN = "workspace_broken"  # the change could not be read from the agent's workspace
    OOM = "oom"  # the sandbox ran out of memory
    PROCESS_LIMIT = "process_limit"  # the sandbox's process limit was exhausted
    SANDBOX_DIED = "sandbox_died"  # the sandbox or its command server was killed while grading
    TESTS_TIMED_OUT = "tests_timed_out"  # the tests ran past the grading timeout
    REPORT_UNREADABLE = "report_unreadable"  # the test report is missing, empty or garbage
    RUNNER_ERROR = "runner_error"  # the runner exited abnormally (interrupted, internal error, no tests)
    GRADING_ERROR = "grading_error"  # any other step of grading failed on this change


#: Failures that need no check against the empty patch: nothing but the agent's change can cause them.
SELF_EVIDENT = frozenset({GradeFailure.PATCH_TOO_LARGE, GradeFailure.PATCH_INVALID})


class AgentFailure(Exception):
    """A grading step failed on the agent's change (confirmed as the agent's, or not, by the empty patch)."""

    def __init__(self, code: GradeFailure, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code, self.detail = code, detail


def classify(exc: BaseException) -> GradeFailure:
    """The failure code for an exception raised while grading a change."""
    text = str(exc).lower()
    if isinstance(exc, AgentFailure):
        return exc.code
    if isinstance(exc, OutOfMemoryError) or ("memory" in text and "killed" in text):
        return GradeFailure.OOM
    if isinstance(exc, (ProcessLimitError, BlockingIOError)) or "process limit" in text or "pids limit" in text:
        return GradeFailure.PROCESS_LIMIT
    if isinstance(exc, WorkspaceFullError) or "no space left" in text:
        return GradeFailure.WORKSPACE_BROKEN
    if isinstance(exc, SandboxDiedError) or "command server" in text or "agent's stream" in text:
        return GradeFailure.SANDBOX_DIED
    if isinstance(exc, ParseError):
        return GradeFailure.REPORT_UNREADABLE
    return GradeFailure.GRADING_ERROR


#: Sandbox failures nothing in the sandbox can cause (the engine, the image, the host's disk, swefarm's own
#: use of the sandbox): `infra_error` at once. The agent's (`AgentCausedError`: its processes fill the process
#: limit, exhaust memory or fill a tmpfs) get a failure code; any other is confirmed by the empty patch.
INFRA_ERRORS = (
    EngineUnavailableError, ImageMissingError, OutOfDiskError, SandboxLimitError, SandboxClosedError, SetupError
)  # fmt: skip

#: What a grading step may raise on a change it cannot grade; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (SandboxError, AgentFailure, ParseError, OSError, UnicodeError)
