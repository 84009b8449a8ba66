"""What building and validating a task can come to, as codes: the miner's funnel and reports count these,
never the English of a message.

Each code carries a one-line description (`describe`) for reports, and whether trying again later may
change it (`RETRY`: the infrastructure failed, not the task).
"""

from __future__ import annotations

from enum import StrEnum


class ValidationOutcome(StrEnum):
    """How validating a task ended (`ValidationReport.outcome`)."""

    VALID = "valid"
    NO_RUNNABLE_TESTS = "no_runnable_tests"
    NO_TEST_RESULTS = "no_test_results"
    ENVIRONMENT_BROKEN = "environment_broken"
    NO_FAIL_TO_PASS = "no_fail_to_pass"
    ORDER_DEPENDENT = "order_dependent"
    PATCH_DOES_NOT_APPLY = "patch_does_not_apply"
    NOT_BUILT = "not_built"
    INFRA_ERROR = "infra_error"


class BuildOutcome(StrEnum):
    """How building a task's images ended (`StepOutcome.code` of a build)."""

    BUILT = "built"
    BUILD_FAILED = "build_failed"
    REPO_ERROR = "repo_error"
    RECIPE_ERROR = "recipe_error"


class DropReason(StrEnum):
    """Why a test is in neither FAIL_TO_PASS nor PASS_TO_PASS (`Provenance.dropped_tests`)."""

    FLAKY = "flaky"
    ORDER_DEPENDENT = "order_dependent"
    XFAIL = "xfail"
    XPASS = "xpass"
    SKIPPED = "skipped"
    FAILED = "failed"
    COLLECTION_ERROR = "collection_error"
    MISSING = "missing"
    PASSES_AT_BASE = "passes_at_base"
    FAILS_AT_BASE = "fails_at_base"


DESCRIPTIONS: dict[str, str] = {
    ValidationOutcome.VALID: "valid: tests fail before the gold patch and pass after it",
    ValidationOutcome.NO_RUNNABLE_TESTS: "the test patch touches no test file the runner can run",
    ValidationOutcome.NO_TEST_RESULTS: "a test run reported nothing (a crash, a timeout, no tests): see the cause",
    ValidationOutcome.ENVIRONMENT_BROKEN: "test modules fail to import in the base and gold runs alike: the "
    "environment is broken, not the task",
    ValidationOutcome.NO_FAIL_TO_PASS: "no test fails before the gold patch and passes after it",
    ValidationOutcome.ORDER_DEPENDENT: "the fixed tests pass or fail depending on which tests run beside them",
    ValidationOutcome.PATCH_DOES_NOT_APPLY: "the gold or test patch does not apply at the base commit",
    ValidationOutcome.NOT_BUILT: "not validated: the task has no image (its build failed or never ran)",
    ValidationOutcome.INFRA_ERROR: "the sandbox or the engine failed (tried again on the next run)",
    BuildOutcome.BUILT: "environment and task images built",
    BuildOutcome.BUILD_FAILED: "the environment or task image did not build",
    BuildOutcome.REPO_ERROR: "the repository or a commit of it could not be read",
    BuildOutcome.RECIPE_ERROR: "no install recipe could be inferred",
    DropReason.FLAKY: "passed in some gold runs and not in others",
    DropReason.ORDER_DEPENDENT: "passed with its whole file, not when selected by id (or the reverse)",
    DropReason.XFAIL: "an expected failure: it asserts nothing the fix must keep",
    DropReason.XPASS: "an expected failure that passed unexpectedly",
    DropReason.SKIPPED: "skipped in the gold runs",
    DropReason.FAILED: "failed or errored in the gold runs",
    DropReason.COLLECTION_ERROR: "its module failed to import",
    DropReason.MISSING: "reported by no run (not collected, or its name was never printed)",
    DropReason.PASSES_AT_BASE: "a FAIL_TO_PASS test that already passes before the gold patch",
    DropReason.FAILS_AT_BASE: "a PASS_TO_PASS test that does not pass before the gold patch",
}

#: Outcomes that say nothing about the task itself: the next run tries it again.
RETRY = frozenset({ValidationOutcome.INFRA_ERROR, BuildOutcome.REPO_ERROR})


def describe(code: str) -> str:
    """The one-line description of an outcome or drop code (the code itself when unknown)."""
    return DESCRIPTIONS.get(code, code)
