"""A merged change becomes a task: its diff from git split into gold and test patches, its issue
(or, offline, its own message) as the problem statement, and the comments made before work on it
began as hints."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import NamedTuple

from swefarm.harness.repos import RepoError, git, has_commit
from swefarm.miner.filters import FilterConfig, check_patch
from swefarm.miner.linking import strip_html_comments
from swefarm.miner.models import PullRecord, Rejection, Stage
from swefarm.miner.patches import PatchSplit, split_patch
from swefarm.tasks.models import Provenance, Task

_TRAILER = re.compile(r"^(signed-off-by|co-authored-by|reviewed-by|change-id):", re.IGNORECASE)


def instance_id(record: PullRecord) -> str:
    """SWE-bench's naming: owner__name-<PR number>, or the commit's first 10 hex digits."""
    owner_name = record.repo.replace("/", "__")
    return f"{owner_name}-{record.number}" if record.number is not None else f"{owner_name}-{record.merge_commit[:10]}"


def base_commit(record: PullRecord, git_dir: Path) -> str:
    """The commit the change was applied to on its target branch (that branch's tip when it was merged).

    A merge commit's first parent; for a squash merge the commit's parent; for a rebase merge of
    n commits (GitHub reports the last one) the commit n steps back, when those n commits carry the
    pull request's messages.
    """
    if record.base_commit:
        return record.base_commit
    if not record.merge_commit or not has_commit(git_dir, record.merge_commit):
        raise RepoError(f"merge commit {record.merge_commit or '(none)'} is not in {git_dir}")
    parents = git("rev-list", "--parents", "-n1", record.merge_commit, cwd=git_dir).split()[1:]
    if not parents:
        raise RepoError(f"{record.merge_commit} is a root commit")
    n = len(record.commits)
    if len(parents) == 1 and n > 1:
        messages = git("log", f"-n{n}", "--format=%s", record.merge_commit, cwd=git_dir).splitlines()
        own = {c.message.strip().splitlines()[0] for c in record.commits if c.message.strip()}
        if len(messages) == n and set(messages) <= own:  # rebased: n commits of the PR in a row
            return git("rev-parse", f"{record.merge_commit}~{n}", cwd=git_dir).strip()
    return parents[0]


class ForkPoint(NamedTuple):
    """Where a task starts (`base`), the commit whose tree holds the change (`head`), and how that was found."""

    base: str
    head: str
    how: str


def fork_point(record: PullRecord, git_dir: Path) -> ForkPoint:
    """Where the change's branch left the target branch, and its last commit.

    `git diff base head` is then exactly the pull request's own diff (what GitHub shows, what
    SWE-bench's tasks hold), and the tests run on the code the change was written against. When
    the branch merged the target branch in, the fork point is the last such sync. Without the
    branch (a squash merge whose pull ref is gone, a plain commit) the change is its commit's own
    diff, on its parent.
    """
    target = base_commit(record, git_dir)
    head = record.head_commit
    if not head and record.merge_commit and record.kind in ("pull", "merge"):
        parents = git("rev-list", "--parents", "-n1", record.merge_commit, cwd=git_dir).split()[1:]
        head = parents[1] if len(parents) == 2 else ""
    if head and head != record.merge_commit and has_commit(git_dir, head):
        fork = git("merge-base", target, head, cwd=git_dir, check=False).strip()
        if fork:
            return ForkPoint(fork, head, "the fork point of the pull request's branch")
    return ForkPoint(target, record.merge_commit, "the parent of the merged commit")


def diff_of(git_dir: Path, base: str, head: str) -> str:
    """What the change did, as `git diff` prints it (binary files named, not encoded).

    Read as bytes: text mode would turn CRLF line endings into LF and the patch would not apply."""
    args = ["git", "diff", "--no-color", "--no-ext-diff", "--find-renames", base, head]
    done = subprocess.run(args, cwd=git_dir, capture_output=True)
    if done.returncode != 0:
        raise RepoError(f"git diff {base[:10]} {head[:10]} failed: {done.stderr.decode()[-500:]}")
    return done.stdout.decode("utf-8", errors="replace")


def make_task(
    record: PullRecord, git_dir: Path, config: FilterConfig, source: str
) -> tuple[Task | None, list[Rejection]]:
    """The task for `record`, or the reasons it cannot be one."""
    try:
        fork = fork_point(record, git_dir)
        split = split_patch(diff_of(git_dir, fork.base, fork.head))
    except RepoError as exc:
        return None, [Rejection(stage=Stage.FILTERED, code="git_error", detail=str(exc)[:300])]
    rejections = check_patch(split, config)
    if rejections:
        return None, rejections
    return _task(record, git_dir, fork, split, source, config.language), []


def _task(
    record: PullRecord, git_dir: Path, fork: ForkPoint, split: PatchSplit, source: str, language: str = "python"
) -> Task:
    base = fork.base
    statement, statement_source = problem_statement(record)
    # Hints are comments made before work began. A squash or plain commit hides when that was (its
    # date is the merge's), so it gets none rather than comments that may discuss the fix.
    started = record.first_commit_at if record.kind in ("pull", "merge") else None
    hints = [
        c.body.strip()
        for issue in record.issues
        for c in issue.comments
        if c.body.strip() and started is not None and c.created_at < started
    ]
    return Task(
        instance_id=instance_id(record),
        repo=record.repo,
        base_commit=base,
        patch=split.gold,
        test_patch=split.tests,
        problem_statement=statement,
        hints_text="\n\n".join(hints),
        created_at=record.created_at,
        version=version_of(git_dir, base),
        environment_setup_commit=base,
        language=language,
        provenance=Provenance(
            source=f"mined:{source}",
            pr_number=record.number,
            pr_url=record.url,
            issue_numbers=[i.number for i in record.issues] or record.linked_issues,
            issue_urls=[i.url for i in record.issues if i.url],
            license=record.license,
        ),
        extra={
            "mined": {
                "kind": record.kind,
                "merge_commit": record.merge_commit,
                "head_commit": fork.head,
                "base_commit_is": fork.how,
                "merged_at": record.merged_at.isoformat(),
                "linked_by": {str(k): v for k, v in record.linked_by.items()},
                "problem_statement_source": statement_source,
            }
        },
    )


def problem_statement(record: PullRecord) -> tuple[str, str]:
    """The linked issues' titles and bodies; without them, the change's own title and message."""
    if record.issues:
        parts = [f"{i.title.strip()}\n\n{strip_html_comments(i.body).strip()}".strip() for i in record.issues]
        return "\n\n".join(parts) + "\n", "issue"
    body = "\n".join(line for line in strip_html_comments(record.body).splitlines() if not _TRAILER.match(line))
    return f"{record.title.strip()}\n\n{body.strip()}".strip() + "\n", "commit message"


def version_of(git_dir: Path, commit: str) -> str:
    """The newest release tag before `commit` ("3.1.2" from "v3.1.2"), or "" when there is none."""
    tag = git("describe", "--tags", "--abbrev=0", commit, cwd=git_dir, check=False).strip()
    return tag.removeprefix("v") if tag else ""
