"""Candidates from GitHub through PyGithub: merged pull requests, their commits, linked issues and
the issue discussion.

Calls are spent in order of need: the pull request list (100 per call) gives every candidate;
commits (for closing keywords in their messages and the first commit's date) come next; GitHub's
own "closed by" link (GraphQL closingIssuesReferences, which includes issues linked in the
sidebar; the REST timeline's "connected" events where GraphQL cannot be asked) only when no
closing keyword was found; the issues and their comments last, and only for candidates that
passed the cheap filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from swefarm.miner.github_api import GitHubAPI, GitHubError
from swefarm.miner.linking import linked_issue_numbers
from swefarm.miner.models import Comment, CommitInfo, IssueRecord, PullRecord

CLOSING_QUERY = """
query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      closingIssuesReferences(first: 25) { nodes { number repository { nameWithOwner } } }
    }
  }
}
"""


class GitHubSource:
    """Merged pull requests of one repository, newest first."""

    name = "github"

    def __init__(
        self,
        api: GitHubAPI,
        repo: str,
        since: datetime | None = None,
        until: datetime | None = None,
        max_candidates: int | None = None,
    ):
        self.api, self.repo = api, repo
        self.since, self.until, self.max = since, until, max_candidates
        gh_repo = api.call(lambda: api.gh.get_repo(repo), f"reading {repo}")
        self.full_name = gh_repo.full_name
        self.default_branch = gh_repo.default_branch
        self.license = _spdx(gh_repo)

    def candidates(self) -> Iterator[PullRecord]:
        """Merged pull requests created in the window, newest first (closed unmerged ones are skipped)."""
        params = {"state": "closed", "sort": "created", "direction": "desc"}
        count = 0
        for raw in self.api.paginate(f"/repos/{self.repo}/pulls", params):
            created = _when(raw["created_at"])
            if self.until and created > self.until:
                continue
            if self.since and created < self.since:
                return  # sorted by creation, newest first: nothing older can be in the window
            if not raw.get("merged_at"):
                continue
            title, body = raw.get("title") or "", raw.get("body") or ""
            linked = linked_issue_numbers([title, body], self.repo)
            yield PullRecord(
                repo=self.repo,
                kind="pull",
                number=raw["number"],
                title=title,
                body=body,
                url=raw.get("html_url"),
                created_at=created,
                merged_at=_when(raw["merged_at"]),
                merge_commit=raw.get("merge_commit_sha") or "",
                head_commit=(raw.get("head") or {}).get("sha") or "",
                linked_issues=linked,
                linked_by={n: "pull request text" for n in linked},
                license=self.license,
            )
            count += 1
            if self.max is not None and count >= self.max:
                return

    def link(self, record: PullRecord) -> PullRecord:
        """Read the commits (closing keywords in messages, first commit date) and, when no keyword
        links an issue, the timeline's "connected" events; keep only numbers that are issues."""
        commits = [
            CommitInfo(
                sha=c["sha"],
                message=(c.get("commit") or {}).get("message") or "",
                authored_at=_when(((c.get("commit") or {}).get("author") or {}).get("date")),
            )
            for c in self.api.paginate(f"/repos/{self.repo}/pulls/{record.number}/commits")
        ]
        linked_by = dict(record.linked_by)
        for n in linked_issue_numbers([c.message for c in commits], self.repo):
            linked_by.setdefault(n, "commit message")
        if not linked_by:
            for n in self._closing_references(record.number) or []:
                linked_by.setdefault(n, "linked on GitHub")
        if not linked_by:  # no GraphQL (no token, or a server without it): the timeline's connections
            for event in self.api.paginate(f"/repos/{self.repo}/issues/{record.number}/timeline"):
                if event.get("event") not in ("connected", "cross-referenced") or not event.get("source"):
                    continue
                issue = event["source"].get("issue") or {}
                same_repo = (issue.get("repository") or {}).get("full_name", self.repo).lower() == self.repo.lower()
                if event["event"] == "connected" and same_repo and "pull_request" not in issue and issue.get("number"):
                    linked_by.setdefault(issue["number"], "linked on GitHub")
        linked_by.pop(record.number, None)
        return record.model_copy(
            update={
                "commits": commits,
                "linked_issues": sorted(linked_by),
                "linked_by": dict(sorted(linked_by.items())),
            }
        )

    def _closing_references(self, number: int) -> list[int] | None:
        """The issues GitHub itself says this pull request closes (GraphQL closingIssuesReferences:
        closing keywords and the "linked issues" sidebar); None when GraphQL cannot be asked."""
        if not self.api.has_token:
            return None  # GitHub's GraphQL API wants a token
        owner, name = self.repo.split("/")
        variables = {"owner": owner, "name": name, "number": number}
        try:
            _, data = self.api.call(
                lambda: self.api.gh.requester.graphql_query(CLOSING_QUERY, variables),
                f"asking GitHub which issues #{number} closes",
            )
        except GitHubError:
            return None
        pull = ((data.get("data") or {}).get("repository") or {}).get("pullRequest") or {}
        nodes = (pull.get("closingIssuesReferences") or {}).get("nodes") or []
        return [
            node["number"]
            for node in nodes
            if (node.get("repository") or {}).get("nameWithOwner", "").lower() == self.repo.lower()
        ]

    def complete(self, record: PullRecord) -> PullRecord:
        """Read the linked issues and their comments; numbers that turn out to be pull requests are dropped."""
        issues = []
        for number in record.linked_issues:
            try:
                raw, _ = self.api.get_json(f"/repos/{self.repo}/issues/{number}")
            except GitHubError as exc:
                if "404" in str(exc):
                    continue  # deleted or transferred issue
                raise
            if raw.get("pull_request"):
                continue
            comments = [
                Comment(
                    author=(c.get("user") or {}).get("login", ""), created_at=c["created_at"], body=c.get("body") or ""
                )
                for c in (
                    self.api.paginate(f"/repos/{self.repo}/issues/{number}/comments") if raw.get("comments") else []
                )
            ]
            issues.append(
                IssueRecord(
                    number=number,
                    title=raw.get("title") or "",
                    body=raw.get("body") or "",
                    url=raw.get("html_url"),
                    created_at=raw.get("created_at"),
                    comments=comments,
                )
            )
        kept = [i.number for i in issues]
        return record.model_copy(
            update={
                "issues": issues,
                "linked_issues": kept,
                "linked_by": {n: how for n, how in record.linked_by.items() if n in kept},
            }
        )


def _spdx(gh_repo) -> str | None:
    license = gh_repo.license  # None when GitHub recognised no license
    spdx = license.spdx_id if license else None
    return None if spdx in (None, "NOASSERTION") else spdx


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
