"""Candidates from local git history, for offline work and for repositories not on GitHub.

Every commit reachable from the branch is read once. Pull requests are recognised three ways:
`Merge pull request #N from ...` merges, merges whose message is the pull request's title
(`Title (#N)`, two parents: GitHub's merge button set to "pull request title") and squash-merged
`Title (#N)` commits (one parent), whichever branch they were merged into first (e.g. a
maintenance branch merged back later). Other commits on the branch's first-parent line are plain
commits, kept when they change both code and tests.

Each record names the commit the change was merged onto (`base_commit`) and, where git still
holds it, the branch's own last commit (`head_commit`: a merge's second parent, or a squash-merged
pull request's `refs/pull/N/head`, which mirrors of GitHub repositories carry), so the task can
start where the branch forked (see taskify.fork_point). Issue text is not in git: it comes from an
optional issues file (GitHub's issue JSON, one per line), else the problem statement is written
from the commit or pull-request message; a fallback title is never a merge message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from swefarm.harness.repos import git
from swefarm.miner.linking import linked_issue_numbers
from swefarm.miner.models import Comment, CommitInfo, IssueRecord, PullRecord
from swefarm.miner.patches import classify

MERGE_RE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
SQUASH_RE = re.compile(r"^(.+?) \(#(\d+)\)\s*$")
#: A subject git or a forge wrote for a merge: says nothing about the change itself.
MERGE_MESSAGE_RE = re.compile(
    r"^(?:Merge (?:pull request #\d+|branch\b|branches\b|remote-tracking branch\b|tag\b|commit\b|[0-9a-f]{7,40}\b"
    r"|'[^']*'|\S+ into \S+)|Merged in \S+|Merge$)",
    re.IGNORECASE,
)
FIELD, RECORD = "\x1f", "\x1e"
LOG_FORMAT = FIELD.join(["%H", "%P", "%aI", "%cI", "%B"]) + RECORD


class GitSource:
    """Merged changes of a local repository, newest first."""

    name = "git"

    def __init__(
        self,
        git_dir: Path,
        repo: str,
        branch: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        max_candidates: int | None = None,
        plain_commits: bool = True,
        issues_file: Path | None = None,
        license: str | None = None,
    ):
        self.git_dir = Path(git_dir)
        self.repo = repo
        self.branch = branch or default_branch(self.git_dir)
        self.since, self.until, self.max = since, until, max_candidates
        self.plain_commits = plain_commits
        self.issues = load_issues(issues_file) if issues_file else {}
        self.license = license

    def candidates(self) -> Iterator[PullRecord]:
        """Merged pull requests (and plain commits) created in the window, newest first."""
        first_parent = set(git("rev-list", "--first-parent", self.branch, cwd=self.git_dir).split())
        seen: set[int] = set()
        count = 0
        for sha, parents, authored, committed, message in _log(self.git_dir, self.branch):
            record = self._record(sha, parents, authored, committed, message, first_parent, seen)
            if record is None or not self._in_window(record):
                continue
            yield record
            count += 1
            if self.max is not None and count >= self.max:
                return

    def link(self, record: PullRecord) -> PullRecord:
        """Links come from the messages, read with the candidate: nothing more to ask."""
        return record

    def complete(self, record: PullRecord) -> PullRecord:
        """Attach issue text from the issues file, when it has the linked issues."""
        issues = [self.issues[n] for n in record.linked_issues if n in self.issues]
        return record.model_copy(update={"issues": issues}) if issues else record

    def _in_window(self, record: PullRecord) -> bool:
        return not ((self.since and record.created_at < self.since) or (self.until and record.created_at > self.until))

    def _record(self, sha, parents, authored, committed, message, first_parent, seen) -> PullRecord | None:
        subject, _, rest = message.strip().partition("\n")
        parents = parents.split()
        if not parents:
            return None  # the root commit has no base to diff against
        merged_at = datetime.fromisoformat(committed)
        merge, squash = MERGE_RE.match(subject), SQUASH_RE.match(subject)
        match = merge or squash
        if len(parents) == 2 and match is not None:
            number = int(match.group(1) if merge else match.group(2))
            branch_commits = _commits(self.git_dir, f"{parents[0]}..{parents[1]}")
            if merge:  # GitHub's message: `Merge pull request #N from user/branch`, a blank line, the PR title
                title, _, body = rest.strip().partition("\n")
            else:  # the PR title as the subject, its description (if any) as the body
                title, body = match.group(1), rest
            if not title.strip():  # GitHub left the PR title out: the branch's last commit that is no merge
                title, body = _branch_message(branch_commits)
            kind, title, body, head = "merge", title.strip(), body.strip(), parents[1]
            created = min((c.authored_at for c in branch_commits if c.authored_at), default=merged_at)
        elif squash and len(parents) == 1:
            number = int(squash.group(2))
            kind, title, body = "squash", squash.group(1).strip(), rest.strip()
            branch_commits = [CommitInfo(sha=sha, message=message, authored_at=datetime.fromisoformat(authored))]
            created = datetime.fromisoformat(authored)
            head = pull_head(self.git_dir, number)
        elif len(parents) == 1 and self.plain_commits and sha in first_parent:
            if not _changes_code_and_tests(self.git_dir, parents[0], sha):
                return None
            number, kind, title, body, head = None, "commit", subject.strip(), rest.strip(), ""
            branch_commits = [CommitInfo(sha=sha, message=message, authored_at=datetime.fromisoformat(authored))]
            created = datetime.fromisoformat(authored)
        else:
            return None
        if number is not None:
            if number in seen:
                return None  # a cherry-pick or a re-merge of a pull request already read
            seen.add(number)
        texts = [title, body, *(c.message for c in branch_commits)]
        linked = linked_issue_numbers(texts, self.repo)
        return PullRecord(
            repo=self.repo,
            kind=kind,
            number=number,
            title=title,
            body=body,
            created_at=created,
            merged_at=merged_at,
            base_commit=parents[0],
            head_commit=head,
            merge_commit=sha,
            commits=branch_commits,
            linked_issues=linked,
            linked_by={n: "commit message" for n in linked},
            license=self.license,
        )


def is_merge_message(text: str) -> bool:
    """Whether a commit message's subject is one git or a forge wrote for a merge (`Merge branch 'main' ...`)."""
    return bool(MERGE_MESSAGE_RE.match(text.strip()))


def _branch_message(commits: list[CommitInfo]) -> tuple[str, str]:
    """(title, body) of the newest branch commit whose message says something: merges of the target branch
    into the pull request's branch (`Merge branch 'main' into patch-1`) say nothing about the change."""
    for commit in commits:
        if commit.message.strip() and not is_merge_message(commit.message):
            title, _, body = commit.message.strip().partition("\n")
            return title, body
    return "", ""


def pull_head(git_dir: Path, number: int) -> str:
    """The last commit of pull request `number`'s branch, when the repository has GitHub's pull refs."""
    return git(
        "rev-parse", "--verify", "--quiet", f"refs/pull/{number}/head^{{commit}}", cwd=git_dir, check=False
    ).strip()


def default_branch(git_dir: Path) -> str:
    """HEAD's branch (a mirror's HEAD names the default branch)."""
    name = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=git_dir, check=False).strip()
    return name or "HEAD"


def _log(git_dir: Path, rev: str) -> Iterator[tuple[str, str, str, str, str]]:
    out = git("log", "--date-order", f"--format={LOG_FORMAT}", rev, cwd=git_dir)
    for chunk in out.split(RECORD):
        fields = chunk.strip("\n").split(FIELD)
        if len(fields) == 5:
            yield tuple(fields)  # type: ignore[misc]


def _commits(git_dir: Path, rev_range: str) -> list[CommitInfo]:
    out = git("log", f"--format={FIELD.join(['%H', '%aI', '%B'])}{RECORD}", rev_range, cwd=git_dir)
    commits = []
    for chunk in out.split(RECORD):
        fields = chunk.strip("\n").split(FIELD)
        if len(fields) == 3:
            commits.append(CommitInfo(sha=fields[0], authored_at=datetime.fromisoformat(fields[1]), message=fields[2]))
    return commits


def _changes_code_and_tests(git_dir: Path, parent: str, sha: str) -> bool:
    kinds = {classify(p) for p in git("diff", "--name-only", "--no-renames", parent, sha, cwd=git_dir).split("\n") if p}
    return {"code", "test"} <= kinds


def load_issues(path: Path) -> dict[int, IssueRecord]:
    """Issues from a JSON-lines file of GitHub issue objects (as the REST API returns them), with
    their comments under "comments" when that is a list."""
    issues = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            comments = raw.get("comments") if isinstance(raw.get("comments"), list) else []
            issue = IssueRecord(
                number=raw["number"],
                title=raw["title"],
                body=raw.get("body") or "",
                url=raw.get("html_url"),
                created_at=raw.get("created_at"),
                comments=[
                    Comment(
                        author=(c.get("user") or {}).get("login", ""),
                        created_at=c["created_at"],
                        body=c.get("body") or "",
                    )
                    for c in comments
                ],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a GitHub issue object ({exc})") from None
        issues[issue.number] = issue
    return issues
