"""Filters that decide which merged changes become tasks, each rejection with a code and a reason.

`check_record` runs first, on what the source read (dates, licence, linked issues), before anything
is downloaded; `check_patch` runs on the split diff. Both return every rejection that applies, in
a fixed order, so a funnel report can count them; an empty list means the candidate passes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from swefarm.miner.license import PERMISSIVE, is_permissive
from swefarm.miner.models import PullRecord, Rejection, Stage
from swefarm.miner.patches import TASK_LANGUAGES, PatchSplit


class FilterConfig(BaseModel):
    """What a candidate must satisfy to become a task."""

    model_config = ConfigDict(extra="forbid")

    require_issue: bool = Field(True, description="only changes that close an issue of the repository")
    max_files: int = Field(15, description="most non-test files in the gold patch")
    max_lines: int = Field(600, description="most lines added plus removed in the gold patch")
    max_test_lines: int = Field(2000, description="most lines added plus removed in the test patch")
    language: str = Field("python", description="the language of the tasks mined: python or javascript (JS/TS)")
    languages: list[str] = Field(
        default_factory=lambda: ["python"], description="languages of gold code files (default: the task language's)"
    )
    licenses: list[str] = Field(default_factory=lambda: sorted(PERMISSIVE), description="SPDX ids allowed")
    allow_unknown_license: bool = False
    cutoff: datetime | None = Field(None, description="drop changes created before this (training cutoff)")
    allow_binary: bool = False

    @model_validator(mode="after")
    def _languages_of_the_task_language(self) -> FilterConfig:
        if self.language not in TASK_LANGUAGES:
            raise ValueError(f"unknown task language {self.language!r}; known: {', '.join(TASK_LANGUAGES)}")
        if "languages" not in self.model_fields_set:
            self.languages = list(TASK_LANGUAGES[self.language])
        return self


REASONS: dict[str, str] = {
    "no_linked_issue": "does not close an issue of the repository",
    "before_cutoff": "created before the cutoff date",
    "license_not_permissive": "the repository's licence is not an allowed one",
    "license_unknown": "the repository's licence could not be recognised",
    "empty_diff": "the change has no file changes",
    "binary_files": "the change touches binary files",
    "docs_only": "the change only touches documentation",
    "no_code_change": "the change has no source code outside the tests",
    "no_test_change": "the change adds or edits no tests",
    "other_language_code": "the gold patch changes code in a language other than the task's",
    "too_many_files": "the gold patch changes too many files",
    "too_many_lines": "the gold patch changes too many lines",
    "too_many_test_lines": "the test patch changes too many lines",
}


def _utc(when: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so naive and aware ones compare."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _names(paths: list[str], most: int = 5) -> str:
    shown = ", ".join(paths[:most])
    return shown + (f" and {len(paths) - most} more" if len(paths) > most else "")


def check_record(record: PullRecord, config: FilterConfig) -> list[Rejection]:
    """Record-level rejections (stage LINKED): before_cutoff, license_unknown or license_not_permissive,
    no_linked_issue."""
    out = []
    if config.cutoff is not None and _utc(record.created_at) < _utc(config.cutoff):
        out.append(
            Rejection(
                stage=Stage.LINKED,
                code="before_cutoff",
                detail=f"created {record.created_at.date()} < cutoff {config.cutoff.date()}",
            )
        )
    if record.license is None:
        if not config.allow_unknown_license:
            out.append(Rejection(stage=Stage.LINKED, code="license_unknown", detail="no licence recognised"))
    elif not is_permissive(record.license, config.licenses):
        out.append(Rejection(stage=Stage.LINKED, code="license_not_permissive", detail=record.license))
    if config.require_issue and not record.linked_issues:
        out.append(Rejection(stage=Stage.LINKED, code="no_linked_issue", detail="no closing reference found"))
    return out


def check_patch(split: PatchSplit, config: FilterConfig) -> list[Rejection]:
    """Patch-level rejections (stage FILTERED), in this order: empty_diff, binary_files, docs_only,
    no_code_change, no_test_change, other_language_code, too_many_files, too_many_lines, too_many_test_lines."""
    out: list[Rejection] = []

    def reject(code: str, detail: str) -> None:
        out.append(Rejection(stage=Stage.FILTERED, code=code, detail=detail))

    if not split.files:
        reject("empty_diff", "0 files changed")
    if split.binary_files and not config.allow_binary:
        reject("binary_files", _names(split.binary_files))
    if split.files and all(f.kind == "docs" for f in split.files):
        reject("docs_only", f"{len(split.files)} documentation files")
    if not split.code_files:
        reject("no_code_change", "no source file outside the tests")
    if not split.test_files:
        reject("no_test_change", "no test file")
    other = [f.path for f in split.files if f.kind == "code" and f.language not in config.languages]
    if other:
        reject("other_language_code", f"{_names(other)} not in {', '.join(config.languages) or 'no languages'}")
    if split.gold_files > config.max_files:
        reject("too_many_files", f"{split.gold_files} files > {config.max_files}")
    if split.gold_lines > config.max_lines:
        reject("too_many_lines", f"{split.gold_lines} lines > {config.max_lines}")
    test_lines = sum(f.added + f.removed for f in split.files if f.kind == "test")
    if test_lines > config.max_test_lines:
        reject("too_many_test_lines", f"{test_lines} test lines > {config.max_test_lines}")
    return out
