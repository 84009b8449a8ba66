"""What the miner reads from a source (pull requests, issues, comments) and the funnel it reports.

A source (GitHub through PyGithub, or local git history) turns each merged pull request, squash
commit or plain commit into a `PullRecord`; the rest of the miner works on records only, so both
sources share the linking, patch splitting, filters and task making.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Comment(BaseModel):
    """One comment on an issue."""

    author: str = ""
    created_at: datetime
    body: str = ""


class IssueRecord(BaseModel):
    """An issue a pull request resolves: its text is the task's problem statement."""

    number: int
    title: str
    body: str = ""
    url: str | None = None
    created_at: datetime | None = None
    comments: list[Comment] = Field(default_factory=list)


class CommitInfo(BaseModel):
    sha: str
    message: str
    authored_at: datetime | None = None


#: How a change reached the default branch.
PullKind = Literal["pull", "merge", "squash", "commit"]


class PullRecord(BaseModel):
    """One merged change, as far as a source could read it.

    `kind`: "pull" (read from the GitHub API), "merge" (a two-parent merge of pull request #N:
    `Merge pull request #N ...` or `Title (#N)`), "squash" (a one-parent `Title (#N)` commit) or
    "commit" (a plain commit that changes code and tests).
    `merge_commit` is the commit that holds the change on the target branch, `base_commit` its parent
    there (the target branch's tip when it was merged; empty when the source cannot tell), and
    `head_commit` the last commit of the change's own branch where git holds it (the PR's head). The
    task starts where that branch forked from the target branch (taskify.fork_point), not at the
    target's tip at merge time: that is the commit the pull request was written against.
    """

    repo: str
    kind: PullKind
    number: int | None = None
    title: str
    body: str = ""
    url: str | None = None
    created_at: datetime
    merged_at: datetime
    base_commit: str = ""
    head_commit: str = Field("", description="the last commit of the change's branch (the PR's head), when known")
    merge_commit: str = ""
    commits: list[CommitInfo] = Field(default_factory=list)
    linked_issues: list[int] = Field(default_factory=list, description="issues of this repo it resolves")
    linked_by: dict[int, str] = Field(default_factory=dict, description="issue -> how the link was found")
    issues: list[IssueRecord] = Field(default_factory=list, description="the linked issues' text, when read")
    license: str | None = Field(None, description="SPDX id of the repository's license")

    @property
    def key(self) -> str:
        """Stable identity within a repository: the PR number, or the commit for a plain commit."""
        return f"pr-{self.number}" if self.number is not None else f"commit-{self.merge_commit[:12]}"

    @property
    def first_commit_at(self) -> datetime | None:
        """When work on the change started: its earliest commit, else its creation."""
        dates = [c.authored_at for c in self.commits if c.authored_at is not None]
        return min(dates) if dates else self.created_at


class Stage(StrEnum):
    """Funnel stages, in order; a candidate stops at the first it fails."""

    CANDIDATE = "candidate"  # a merged change in the window
    LINKED = "linked"  # resolves an issue (or needs none)
    FILTERED = "filtered"  # has tests and code, passes every filter: a task exists
    BUILT = "built"  # its environment and task images exist
    VALID = "valid"  # validation: FAIL_TO_PASS tests fail before and pass after


STAGES = list(Stage)


class Rejection(BaseModel):
    """Why a candidate stopped: the stage it failed to reach, a short code and a detail."""

    stage: Stage
    code: str
    detail: str = ""
