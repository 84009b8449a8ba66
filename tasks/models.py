"""The task schema: a superset of SWE-bench's instance fields plus what an executable env needs.

SWE-bench, SWE-Gym and SWE-rebench records validate unchanged (test lists as JSON strings or
real lists, ``version`` as a float or a string, ``created_at`` as an ISO string); fields that
no part of swefarm knows are kept in ``Task.extra`` so nothing from a source file is lost.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

#: SWE-bench's instance fields, in the order its published files use.
SWEBENCH_FIELDS = (
    "repo",
    "instance_id",
    "base_commit",
    "patch",
    "test_patch",
    "problem_statement",
    "hints_text",
    "created_at",
    "version",
    "FAIL_TO_PASS",
    "PASS_TO_PASS",
    "environment_setup_commit",
)

_DIFF_GIT = re.compile(r"^diff --git a/(.+?) b/(.+)$")


#: The languages a task can be in: the language of its code and tests (the runner, the base image and the
#: protected files follow from it; the env, its prompts and tools are the same for every language).
LANGUAGES = ("python", "javascript")
#: Other spellings a source may use for a language.
_LANGUAGE_ALIASES = {"js": "javascript", "typescript": "javascript", "ts": "javascript", "py": "python"}


class TaskStatus(StrEnum):
    """Where a task stands in the pipeline: imported -> built (env image exists) -> valid | invalid."""

    IMPORTED = "imported"
    BUILT = "built"
    VALID = "valid"
    INVALID = "invalid"


class Environment(BaseModel):
    """How to build and test the task's environment (all optional: filled by importers or the builder)."""

    python: str | None = None
    node: str | None = Field(None, description="the Node.js major version (JavaScript/TypeScript tasks)")
    install: list[str] = Field(default_factory=list, description="shell commands that install the repo")
    packages: list[str] = Field(default_factory=list, description="extra pip requirements, e.g. 'pytest<8'")
    extras: list[str] = Field(default_factory=list, description="the project's own extras, e.g. 'test'")
    requirements_files: list[str] = Field(default_factory=list)
    conda_env_files: list[str] = Field(default_factory=list)
    pre_install: list[str] = Field(default_factory=list, description="commands run before installing")
    env_vars: dict[str, str] = Field(default_factory=dict)
    test_command: str | None = None
    build: list[str] = Field(
        default_factory=list, description="commands run before every test run (a TypeScript build the tests need)"
    )
    runner_options: list[str] = Field(
        default_factory=list,
        description="options the project's own scripts give its runner (JS: mocha's --require ts-node/register)",
    )
    compiled_tests: dict[str, str] = Field(
        default_factory=dict,
        description="JS: {source prefix: compiled prefix} when the tests run from a TypeScript outDir "
        "(src/test/a.test.ts runs as dist/test/a.test.js; ids keep the source's path)",
    )
    log_parser: str | None = None
    image: str | None = None
    test_files: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, description="the source's own recipe, kept verbatim")


class ValidationRun(BaseModel):
    """One run of the task's tests: when, against which code, and each test's outcome."""

    at: datetime
    label: str = Field("", description="what was tested, e.g. 'base' or 'gold'")
    outcomes: dict[str, str] = Field(default_factory=dict, description="test id -> passed|failed|error|skipped")


class Provenance(BaseModel):
    """Where a task came from and what has been learnt about it since."""

    source: str = ""
    pr_number: int | None = None
    pr_url: str | None = None
    issue_numbers: list[int] = Field(default_factory=list)
    issue_urls: list[str] = Field(default_factory=list)
    license: str | None = None
    validation_runs: list[ValidationRun] = Field(default_factory=list)
    flaky_tests: list[str] = Field(default_factory=list)
    validation_outcome: str | None = Field(
        None, description="how the last validation ended, as a code (valid, no_test_results, environment_broken, ...)"
    )
    dropped_tests: dict[str, str] = Field(
        default_factory=dict,
        description="test id -> why it is in neither FAIL_TO_PASS nor PASS_TO_PASS (flaky, order_dependent, xfail, "
        "missing, skipped, failed, collection_error, ...): every test an imported list held that ours do not",
    )


class QualityVerdict(BaseModel):
    """How usable a task's problem statement is: heuristic flags, and a model's judgement where one was asked.

    No flags means no problem was found. Flags: `thin` (too little to go on, e.g. a one-line title),
    `leaks_fix` (the text gives the fix away: its code, a diff, or what the change replaced with what),
    `not_a_statement` (a merge message, a version bump: nothing that describes a problem).
    """

    flags: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="why each flag was raised")
    judge: str | None = Field(None, description="the model that judged the statement, when one did")
    judge_answer: str | None = Field(None, description="its answer, as it wrote it")

    @property
    def ok(self) -> bool:
        return not self.flags


class Task(BaseModel):
    """One software-engineering task: a repo at a commit, an issue, the gold patch and the tests that grade it."""

    instance_id: str
    repo: str
    base_commit: str
    patch: str
    test_patch: str
    problem_statement: str
    hints_text: str = ""
    created_at: datetime | None = None
    version: str = ""
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    environment_setup_commit: str | None = None
    language: str = Field("python", description="the language of the code and tests: python or javascript (JS/TS)")
    environment: Environment = Field(default_factory=Environment)
    provenance: Provenance = Field(default_factory=Provenance)
    status: TaskStatus = TaskStatus.IMPORTED
    status_reason: str | None = None
    quality: QualityVerdict | None = Field(None, description="the problem statement's quality verdict (mined tasks)")
    extra: dict[str, Any] = Field(default_factory=dict, description="source fields swefarm does not model")

    @model_validator(mode="before")
    @classmethod
    def _keep_unknown_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        unknown = {k: v for k, v in data.items() if k not in cls.model_fields}
        if not unknown:
            return data
        known = {k: v for k, v in data.items() if k in cls.model_fields}
        known["extra"] = {**unknown, **(data.get("extra") or {})}
        return known

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _parse_test_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON list of test ids: {exc}") from None
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _known_language(cls, value: Any) -> Any:
        if value is None or value == "":
            return "python"  # task files written before the field existed, and sources that leave it empty
        if isinstance(value, str):
            value = _LANGUAGE_ALIASES.get(value.strip().lower(), value.strip().lower())
            if value not in LANGUAGES:
                raise ValueError(f"unknown language {value!r}; known: {', '.join(LANGUAGES)}")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("hints_text", mode="before")
    @classmethod
    def _no_hints_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("created_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def test_files(self) -> list[str]:
        """Paths the test patch touches, from its diff headers, in order of appearance."""
        return diff_paths(self.test_patch)

    def to_swebench(self) -> dict[str, Any]:
        """This task as a SWE-bench instance: its fields in its order, test lists as JSON strings."""
        return {
            "repo": self.repo,
            "instance_id": self.instance_id,
            "base_commit": self.base_commit,
            "patch": self.patch,
            "test_patch": self.test_patch,
            "problem_statement": self.problem_statement,
            "hints_text": self.hints_text,
            "created_at": format_created_at(self.created_at),
            "version": self.version,
            "FAIL_TO_PASS": json.dumps(self.FAIL_TO_PASS),
            "PASS_TO_PASS": json.dumps(self.PASS_TO_PASS),
            "environment_setup_commit": self.environment_setup_commit or self.base_commit,
        }


def format_created_at(value: datetime | None) -> str:
    """SWE-bench's spelling of a timestamp: '2023-04-28T15:38:20Z' (microseconds kept when present)."""
    if value is None:
        return ""
    text = value.astimezone(UTC).isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.removesuffix("+00:00") + "Z"


def diff_paths(diff: str) -> list[str]:
    """Paths a unified git diff touches (the new path; the old one for deletions), without repeats."""
    is_git = any(_DIFF_GIT.match(line) for line in diff.splitlines())
    paths: list[str] = []
    in_header, old = not is_git, None
    for line in diff.splitlines():
        if match := _DIFF_GIT.match(line):
            paths.append(match.group(2))  # replaced below by the exact ---/+++ paths when they follow
            in_header, old = True, None
        elif line.startswith("@@"):
            in_header = not is_git  # hunk lines can look like headers; only plain diffs need them
        elif in_header and line.startswith("--- "):
            old = _strip_prefix(line[4:], "a/")
        elif in_header and line.startswith("+++ ") and old is not None:
            new = _strip_prefix(line[4:], "b/")
            path = old if new == "/dev/null" else new
            if is_git:
                paths[-1] = path
            else:
                paths.append(path)
            old = None
    return list(dict.fromkeys(p for p in paths if p and p != "/dev/null"))


def _strip_prefix(path: str, prefix: str) -> str:
    path = path.split("\t", 1)[0].strip()
    return path[len(prefix) :] if path.startswith(prefix) else path
