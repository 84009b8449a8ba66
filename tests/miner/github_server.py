"""A GitHub REST API (v3) look-alike for tests: PyGithub talks to it as it would to GitHub Enterprise.

    with GitHubServer(make_history(tmp_path)) as server:
        gh = Github(base_url=server.base_url, auth=github.Auth.Token(server.token))
        repo = gh.get_repo("acme/widgets")

It serves the repository, pull requests (list, single, commits, files), issues (list, single, comments,
timeline), users and /rate_limit of a `History` (tests/miner/fixture_history.py), computing commits and
per-file diffs from the real git repository. It behaves like github.com where clients can tell:

- authentication: `Authorization: token <token>` or `Bearer <token>`, else 401 "Bad credentials";
- pagination: `per_page` (default 30, at most 100) and `page`, with an RFC 5988 `Link` header of absolute
  URLs (prev, next, last, first) on every list endpoint;
- the primary rate limit: x-ratelimit-* headers on every answer; every answered request but /rate_limit
  and 304s spends one; at 0 the server answers 403 "API rate limit exceeded ..." until the reset time,
  when the budget refills (`set_rate_limit`);
- conditional requests: every 200 GET carries a strong `ETag`; a matching `If-None-Match` gets 304 with
  no body and spends nothing;
- injected faults: `fail` (any status, body, headers), `fail_abuse` (secondary rate limit, Retry-After)
  and `drop` (the connection closes with no answer: the client sees a connection error).

Every request is recorded in `server.requests` (method, path with query, status, conditional, headers).
The server runs uvicorn in a thread on 127.0.0.1 and a free port; starting and stopping take well
under a second and leave no thread or listening socket behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import socket
import subprocess
import threading
import time
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = RATE_DOCS + "#about-secondary-rate-limits"
RATE_WINDOW = 3600.0
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass
class ServedRequest:
    """One request the server saw."""

    method: str
    path: str  # path and query string, as sent (e.g. "/api/v3/repos/acme/widgets/pulls?state=closed")
    status: int | None  # None: dropped, the connection closed without an answer
    conditional: bool  # it carried If-None-Match
    headers: dict[str, str] = field(default_factory=dict)  # request headers, lower-case names

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Fault:
    pattern: re.Pattern
    times: int
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class _Budget:
    """GitHub's primary ("core") rate limit: `limit` requests per hour, refilled at `reset_at`."""

    def __init__(self, limit: int):
        self.limit = limit
        self.remaining = limit
        self.reset_at = time.time() + RATE_WINDOW

    def refresh(self, now: float) -> None:
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = now + RATE_WINDOW

    def snapshot(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset": math.ceil(self.reset_at),  # a client that waits until then finds the budget refilled
            "used": self.limit - self.remaining,
        }

    def headers(self) -> dict[str, str]:
        snap = self.snapshot()
        return {f"x-ratelimit-{k}": str(v) for k, v in snap.items()} | {"x-ratelimit-resource": "core"}


# -- what the server knows about the repository ------------------------------------------------------------


class _Git:
    """Commit metadata and per-file diffs, read from the fixture repository (cached)."""

    def __init__(self, path):
        self.path = path
        self._commits: dict[str, dict] | None = None
        self._files: dict[tuple[str, str], list[dict]] = {}

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        ).stdout

    def commit(self, sha: str) -> dict:
        if self._commits is None:
            out = self.run(
                "log", "--all", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%T%x00%B%x1e"
            )
            commits = {}
            for record in out.split("\x1e"):
                record = record.lstrip("\n")
                if not record:
                    continue
                sha_, parents, an, ae, ad, cn, ce, cd, tree, message = record.split("\x00")
                commits[sha_] = {
                    "sha": sha_,
                    "parents": parents.split(),
                    "author": {"name": an, "email": ae, "date": _z(ad)},
                    "committer": {"name": cn, "email": ce, "date": _z(cd)},
                    "tree": tree,
                    "message": message.rstrip("\n"),
                }
            self._commits = commits
        return self._commits[sha]

    def files(self, a: str, b: str) -> list[dict]:
        """GitHub's view of `git diff a b`: filename, status, additions, deletions, patch (hunks only)."""
        if (a, b) in self._files:
            return self._files[(a, b)]
        tokens = self.run("diff", "--no-color", "--no-ext-diff", "-M", "--name-status", "-z", a, b).split("\x00")
        entries = []
        i = 0
        while i < len(tokens) and tokens[i]:
            code = tokens[i]
            if code[0] in "RC":
                entries.append((code[0], tokens[i + 1], tokens[i + 2]))
                i += 3
            else:
                entries.append((code[0], tokens[i + 1], tokens[i + 1]))
                i += 2
        names = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied", "T": "changed"}
        files = []
        for code, old, new in entries:
            paths = [old, new] if old != new else [new]
            stat = self.run("diff", "--no-ext-diff", "-M", "--numstat", "-z", a, b, "--", *paths).split("\t")
            binary = stat[0] == "-"
            additions, deletions = (0, 0) if binary else (int(stat[0]), int(stat[1]))
            diff = self.run("diff", "--no-color", "--no-ext-diff", "-M", a, b, "--", *paths)
            start = diff.find("\n@@")
            side = a if code == "D" else b
            entry = {
                "sha": self.run("rev-parse", f"{side}:{old if code == 'D' else new}").strip(),
                "filename": new,
                "status": names.get(code, "modified"),
                "additions": additions,
                "deletions": deletions,
                "changes": additions + deletions,
                "commit": side,
            }
            if not binary and start >= 0:
                entry["patch"] = diff[start + 1 :].removesuffix("\n")
            if code in "RC":
                entry["previous_filename"] = old
            files.append(entry)
        self._files[(a, b)] = files
        return files


def _z(date: str) -> str:
    """git's strict ISO date (UTC) in GitHub's form: 2024-01-02T09:00:00Z."""
    return date.replace("+00:00", "Z")


def _later(*dates: str | None) -> str:
    return max(d for d in dates if d)


class _Payloads:
    """JSON documents shaped like api.github.com's, with URLs pointing at this server."""

    def __init__(self, history, root: str):
        self.h = history
        self.root = root
        self.api = root + PREFIX
        self.git = _Git(history.path)

    # -- users, repositories
    def user(self, login: str | None, full: bool = False) -> dict | None:
        if login is None:
            return None
        known = self.h.users.get(login, {})
        uid = known.get("id") or 2000 + zlib.crc32(login.encode()) % 100000
        url = f"{self.api}/users/{login}"
        doc = {
            "login": login,
            "id": uid,
            "node_id": f"U_kgDO{uid:08d}",
            "avatar_url": f"{self.root}/avatars/u/{uid}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.root}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": known.get("type", "User"),
            "user_view_type": "public",
            "site_admin": False,
        }
        if full:
            doc |= {
                "name": known.get("name"),
                "company": None,
                "blog": "",
                "location": None,
                "email": None,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": 1,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": "2020-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }
        return doc

    def repo(self, full_name: str | None = None) -> dict:
        full_name = full_name or self.h.repo
        owner, name = full_name.split("/")
        ours = full_name == self.h.repo
        rid = 500000 + zlib.crc32(full_name.encode()) % 100000
        url = f"{self.api}/repos/{full_name}"
        html = f"{self.root}/{full_name}"
        last = max((c["created_at"] for c in self._items()), default=self.h.created_at) if ours else None
        pushed = max(p["closed_at"] or p["created_at"] for p in self.h.pulls) if ours and self.h.pulls else last
        mit = {
            "key": "mit",
            "name": "MIT License",
            "spdx_id": "MIT",
            "url": f"{self.api}/licenses/mit",
            "node_id": "MDc6TGljZW5zZTEz",
        }
        doc = {
            "id": rid,
            "node_id": f"R_kgDO{rid:08d}",
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": self.user(owner),
            "html_url": html,
            "description": "Small, dependency-free helpers" if ours else None,
            "fork": False,
            "url": url,
            "forks_url": f"{url}/forks",
            "keys_url": f"{url}/keys{{/key_id}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "teams_url": f"{url}/teams",
            "hooks_url": f"{url}/hooks",
            "issue_events_url": f"{url}/issues/events{{/number}}",
            "events_url": f"{url}/events",
            "assignees_url": f"{url}/assignees{{/user}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "tags_url": f"{url}/tags",
            "blobs_url": f"{url}/git/blobs{{/sha}}",
            "git_tags_url": f"{url}/git/tags{{/sha}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "trees_url": f"{url}/git/trees{{/sha}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "languages_url": f"{url}/languages",
            "stargazers_url": f"{url}/stargazers",
            "contributors_url": f"{url}/contributors",
            "subscribers_url": f"{url}/subscribers",
            "subscription_url": f"{url}/subscription",
            "commits_url": f"{url}/commits{{/sha}}",
            "git_commits_url": f"{url}/git/commits{{/sha}}",
            "comments_url": f"{url}/comments{{/number}}",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "merges_url": f"{url}/merges",
            "archive_url": f"{url}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{url}/downloads",
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "milestones_url": f"{url}/milestones{{/number}}",
            "notifications_url": f"{url}/notifications{{?since,all,participating}}",
            "labels_url": f"{url}/labels{{/name}}",
            "releases_url": f"{url}/releases{{/id}}",
            "deployments_url": f"{url}/deployments",
            "created_at": self.h.created_at,
            "updated_at": last,
            "pushed_at": pushed,
            "git_url": f"git://{self.root.split('://', 1)[1]}/{full_name}.git",
            "ssh_url": f"git@127.0.0.1:{full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 42,
            "stargazers_count": 3,
            "watchers_count": 3,
            "language": "Python",
            "has_issues": True,
            "has_projects": False,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": sum(1 for i in self._items() if i["state"] == "open") if ours else 0,
            "license": mit if ours else None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": ["python", "utilities"] if ours else [],
            "visibility": "public",
            "forks": 0,
            "open_issues": sum(1 for i in self._items() if i["state"] == "open") if ours else 0,
            "watchers": 3,
            "default_branch": self.h.default_branch if ours else "main",
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
        }
        if ours:
            doc |= {"network_count": 0, "subscribers_count": 2}
        return doc

    # -- issues and pull requests
    def _items(self) -> list[dict]:
        return list(self.h.issues) + list(self.h.pulls)

    def item(self, number: int) -> dict | None:
        return next((i for i in self._items() if i["number"] == number), None)

    def _association(self, login: str) -> str:
        if login == "alice":
            return "MEMBER"
        if any(p["user"] == login and p["merged_at"] for p in self.h.pulls):
            return "CONTRIBUTOR"
        return "NONE"

    def issue(self, number: int) -> dict:
        item = self.item(number)
        is_pull = self.h.is_pull(number)
        url = f"{self.api}/repos/{self.h.repo}/issues/{number}"
        html = f"{self.root}/{self.h.repo}/{'pull' if is_pull else 'issues'}/{number}"
        iid = 100000 + number
        doc = {
            "url": url,
            "repository_url": f"{self.api}/repos/{self.h.repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "id": iid,
            "node_id": f"{'PR' if is_pull else 'I'}_kwDO{iid:08d}",
            "number": number,
            "title": item["title"],
            "user": self.user(item["user"]),
            "labels": [],
            "state": item["state"],
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(item["comments"]),
            "created_at": item["created_at"],
            "updated_at": item["updated_at"],
            "closed_at": item["closed_at"],
            "author_association": self._association(item["user"]),
            "type": None,
            "active_lock_reason": None,
            "body": item["body"],
            "closed_by": self.user(item.get("closed_by") or (item["merged_by"] if is_pull else None)),
            "reactions": self._reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": item.get("state_reason") if not is_pull else None,
        }
        if is_pull:
            pull_url = f"{self.api}/repos/{self.h.repo}/pulls/{number}"
            doc["draft"] = False
            doc["pull_request"] = {
                "url": pull_url,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": item["merged_at"],
            }
        return doc

    def foreign_issue(self, source: dict) -> dict:
        """An issue or pull request of another repository, as a cross-reference embeds it."""
        number = source["number"]
        url = f"{self.api}/repos/{source['repo']}/issues/{number}"
        html = f"{self.root}/{source['repo']}/{'pull' if source.get('pull_request') else 'issues'}/{number}"
        doc = {
            "url": url,
            "repository_url": f"{self.api}/repos/{source['repo']}",
            "comments_url": f"{url}/comments",
            "html_url": html,
            "id": 200000 + number,
            "number": number,
            "title": source.get("title", ""),
            "user": self.user(source.get("user", "zoe")),
            "labels": [],
            "state": source.get("state", "open"),
            "locked": False,
            "comments": 0,
            "created_at": source.get("created_at"),
            "updated_at": source.get("created_at"),
            "closed_at": None,
            "body": source.get("body", ""),
        }
        if source.get("pull_request"):
            doc["pull_request"] = {
                "url": f"{self.api}/repos/{source['repo']}/pulls/{number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": None,
            }
        return doc

    @staticmethod
    def _reactions(url: str) -> dict:
        keys = ["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"]
        return {"url": f"{url}/reactions", "total_count": 0} | dict.fromkeys(keys, 0)

    def comment(self, number: int, comment: dict) -> dict:
        issue_url = f"{self.api}/repos/{self.h.repo}/issues/{number}"
        kind = "pull" if self.h.is_pull(number) else "issues"
        url = f"{self.api}/repos/{self.h.repo}/issues/comments/{comment['id']}"
        return {
            "url": url,
            "html_url": f"{self.root}/{self.h.repo}/{kind}/{number}#issuecomment-{comment['id']}",
            "issue_url": issue_url,
            "id": comment["id"],
            "node_id": f"IC_kwDO{comment['id']:08d}",
            "user": self.user(comment["user"]),
            "created_at": comment["created_at"],
            "updated_at": comment["created_at"],
            "author_association": self._association(comment["user"]),
            "body": comment["body"],
            "reactions": self._reactions(url),
            "performed_via_github_app": None,
        }

    def _branch(self, pr: dict, side: str) -> dict:
        ref = pr[f"{side}_ref"]
        owner = self.h.repo.split("/")[0]
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": pr[f"{side}_sha"],
            "user": self.user(owner),
            "repo": self.repo(),
        }

    def pull(self, number: int, full: bool) -> dict:
        pr = self.h.pull(number)
        url = f"{self.api}/repos/{self.h.repo}/pulls/{number}"
        html = f"{self.root}/{self.h.repo}/pull/{number}"
        issue_url = f"{self.api}/repos/{self.h.repo}/issues/{number}"
        pid = 300000 + number
        doc = {
            "url": url,
            "id": pid,
            "node_id": f"PR_kwDO{pid:08d}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "number": number,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": self.user(pr["user"]),
            "body": pr["body"],
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "closed_at": pr["closed_at"],
            "merged_at": pr["merged_at"],
            "merge_commit_sha": pr["merge_commit_sha"],
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [],
            "milestone": None,
            "draft": False,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.api}/repos/{self.h.repo}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{self.api}/repos/{self.h.repo}/statuses/{pr['head_sha']}",
            "head": self._branch(pr, "head"),
            "base": self._branch(pr, "base"),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{self.api}/repos/{self.h.repo}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{self.api}/repos/{self.h.repo}/statuses/{pr['head_sha']}"},
            },
            "author_association": self._association(pr["user"]),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if full:  # what GET /pulls/{n} adds to the list's items
            files = self.pull_files(number)
            doc |= {
                "merged": pr["merged_at"] is not None,
                "mergeable": None,
                "rebaseable": None,
                "mergeable_state": "unknown",
                "merged_by": self.user(pr["merged_by"]),
                "comments": len(pr["comments"]),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": len(pr["commits"]),
                "additions": sum(f["additions"] for f in files),
                "deletions": sum(f["deletions"] for f in files),
                "changed_files": len(files),
            }
        return doc

    def commit(self, sha: str) -> dict:
        c = self.git.commit(sha)
        url = f"{self.api}/repos/{self.h.repo}/commits/{sha}"
        html = f"{self.root}/{self.h.repo}/commit/{sha}"
        by_email = {u["email"]: login for login, u in self.h.users.items()}
        return {
            "sha": sha,
            "node_id": f"C_kwDO{sha[:12]}",
            "commit": {
                "author": c["author"],
                "committer": c["committer"],
                "message": c["message"],
                "tree": {"sha": c["tree"], "url": f"{self.api}/repos/{self.h.repo}/git/trees/{c['tree']}"},
                "url": f"{self.api}/repos/{self.h.repo}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": url,
            "html_url": html,
            "comments_url": f"{url}/comments",
            "author": self.user(by_email.get(c["author"]["email"])),
            "committer": self.user(by_email.get(c["committer"]["email"], "web-flow")),
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.api}/repos/{self.h.repo}/commits/{p}",
                    "html_url": f"{self.root}/{self.h.repo}/commit/{p}",
                }
                for p in c["parents"]
            ],
        }

    def commit_with_files(self, sha: str) -> dict:
        """GET /commits/{sha}: the commit with its stats and files (against its first parent)."""
        parents = self.git.commit(sha)["parents"]
        files = self._files(parents[0] if parents else EMPTY_TREE, sha)
        additions = sum(f["additions"] for f in files)
        deletions = sum(f["deletions"] for f in files)
        stats = {"total": additions + deletions, "additions": additions, "deletions": deletions}
        return self.commit(sha) | {"stats": stats, "files": files}

    def pull_files(self, number: int) -> list[dict]:
        pr = self.h.pull(number)
        if pr["merge_commit_sha"]:
            a, b = pr["base_sha"], pr["merge_commit_sha"]
        else:  # not merged: what the branch changes since it left the base
            a, b = self.git.run("merge-base", pr["base_sha"], pr["head_sha"]).strip(), pr["head_sha"]
        return self._files(a, b)

    def _files(self, a: str, b: str) -> list[dict]:
        out = []
        for f in self.git.files(a, b):
            doc = {k: v for k, v in f.items() if k != "commit"}
            doc |= {
                "blob_url": f"{self.root}/{self.h.repo}/blob/{f['commit']}/{f['filename']}",
                "raw_url": f"{self.root}/{self.h.repo}/raw/{f['commit']}/{f['filename']}",
                "contents_url": f"{self.api}/repos/{self.h.repo}/contents/{f['filename']}?ref={f['commit']}",
            }
            out.append(doc)
        return out

    def timeline(self, number: int) -> list[dict]:
        item = self.item(number)
        comments = {c["id"]: c for c in item["comments"]}
        out = []
        for e in self.h.timeline.get(number, []):
            kind = e["event"]
            if kind == "committed":
                c = self.git.commit(e["sha"])
                out.append(
                    {
                        "sha": e["sha"],
                        "node_id": f"C_kwDO{e['sha'][:12]}",
                        "url": f"{self.api}/repos/{self.h.repo}/git/commits/{e['sha']}",
                        "html_url": f"{self.root}/{self.h.repo}/commit/{e['sha']}",
                        "author": c["author"],
                        "committer": c["committer"],
                        "tree": {"sha": c["tree"], "url": f"{self.api}/repos/{self.h.repo}/git/trees/{c['tree']}"},
                        "message": c["message"],
                        "parents": [
                            {
                                "sha": p,
                                "url": f"{self.api}/repos/{self.h.repo}/git/commits/{p}",
                                "html_url": f"{self.root}/{self.h.repo}/commit/{p}",
                            }
                            for p in c["parents"]
                        ],
                        "verification": {
                            "verified": False,
                            "reason": "unsigned",
                            "signature": None,
                            "payload": None,
                            "verified_at": None,
                        },
                        "event": "committed",
                    }
                )
            elif kind == "commented":
                doc = self.comment(number, comments[e["comment_id"]])
                out.append(doc | {"event": "commented", "actor": self.user(e["actor"])})
            elif kind == "cross-referenced":
                out.append(
                    {
                        "actor": self.user(e["actor"]),
                        "created_at": e["created_at"],
                        "updated_at": e["created_at"],
                        "source": {"type": "issue", "issue": self._source(e["source"])},
                        "event": "cross-referenced",
                    }
                )
            else:
                doc = {
                    "id": e["id"],
                    "node_id": f"{''.join(w.title() for w in kind.split('_'))}Event_lADO{e['id']:08d}",
                    "url": f"{self.api}/repos/{self.h.repo}/issues/events/{e['id']}",
                    "actor": self.user(e["actor"]),
                    "event": kind,
                    "commit_id": e["commit_id"],
                    "commit_url": f"{self.api}/repos/{self.h.repo}/commits/{e['commit_id']}"
                    if e["commit_id"]
                    else None,
                    "created_at": e["created_at"],
                    "performed_via_github_app": None,
                }
                if kind == "closed":
                    doc["state_reason"] = None if self.h.is_pull(number) else "completed"
                if "source" in e:  # "connected": the linked issue or pull request
                    doc["source"] = {"type": "issue", "issue": self._source(e["source"])}
                out.append(doc)
        return out

    def _source(self, source: dict) -> dict:
        if source["repo"] == self.h.repo:
            return self.issue(source["number"]) | {"repository": self.repo()}
        return self.foreign_issue(source) | {"repository": self.repo(source["repo"])}

    def rate_limit(self, core: dict[str, int], now: float) -> dict:
        def rate(limit: int, window: float) -> dict:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": math.ceil(now + window)}

        resources = {
            "core": core | {"resource": "core"},
            "search": rate(30, 60) | {"resource": "search"},
            "graphql": rate(5000, RATE_WINDOW) | {"resource": "graphql"},
            "integration_manifest": rate(5000, RATE_WINDOW) | {"resource": "integration_manifest"},
            "source_import": rate(100, 60) | {"resource": "source_import"},
            "code_scanning_upload": rate(1000, RATE_WINDOW) | {"resource": "code_scanning_upload"},
            "actions_runner_registration": rate(10000, RATE_WINDOW) | {"resource": "actions_runner_registration"},
            "scim": rate(15000, RATE_WINDOW) | {"resource": "scim"},
            "dependency_snapshots": rate(100, 60) | {"resource": "dependency_snapshots"},
            "code_search": rate(10, 60) | {"resource": "code_search"},
        }
        return {"resources": resources, "rate": core}


# -- the HTTP application ----------------------------------------------------------------------------------


def _not_found() -> StarletteHTTPException:
    return StarletteHTTPException(404)


def _validation_failed(resource: str, name: str) -> JSONResponse:
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": resource, "field": name, "code": "invalid"}],
        "documentation_url": DOCS,
        "status": "422",
    }
    return JSONResponse(body, status_code=422)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _build_app(server: GitHubServer) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    data = server.payloads

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return JSONResponse({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, 404)
        phrase = HTTPStatus(exc.status_code).phrase
        return JSONResponse(
            {"message": phrase, "documentation_url": DOCS, "status": str(exc.status_code)}, exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def bad_path(request: Request, exc: RequestValidationError):  # e.g. /pulls/abc: GitHub says 404
        return JSONResponse({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, 404)

    def ours(owner: str, repo: str) -> None:
        if f"{owner}/{repo}".lower() != server.history.repo.lower():
            raise _not_found()

    def pull_or_404(number: int) -> dict:
        if not server.history.is_pull(number):
            raise _not_found()
        return server.history.pull(number)

    def item_or_404(number: int) -> dict:
        item = data.item(number)
        if item is None:
            raise _not_found()
        return item

    def page(request: Request, items: list) -> JSONResponse:
        """One page of `items` with GitHub's Link header (absolute URLs of this server)."""
        params = parse_qsl(request.url.query, keep_blank_values=True)
        query = dict(params)
        per_page = min(max(_int(query.get("per_page"), 30), 1), 100)
        number = max(_int(query.get("page"), 1), 1)
        last = max(1, math.ceil(len(items) / per_page))
        body = items[(number - 1) * per_page : number * per_page]
        rest = [(k, v) for k, v in params if k != "page"]

        def link(n: int, rel: str) -> str:
            return f'<{server.root_url}{request.url.path}?{urlencode(rest + [("page", n)])}>; rel="{rel}"'

        links = []
        if number > 1:
            links.append(link(number - 1, "prev"))
        if number < last:
            links += [link(number + 1, "next"), link(last, "last")]
        if number > 1:
            links.append(link(1, "first"))
        headers = {"link": ", ".join(links)} if links else {}
        return JSONResponse(body, headers=headers)

    @app.post("/api/graphql")
    async def graphql(request: Request):
        """The one GraphQL query the miner sends: a pull request's closingIssuesReferences (GitHub's
        "linked issues", here the PR's "connected" timeline events)."""
        payload = await request.json()
        variables = payload.get("variables") or {}
        if "closingIssuesReferences" not in payload.get("query", ""):
            return JSONResponse({"errors": [{"message": "unsupported query"}]})
        if f"{variables.get('owner')}/{variables.get('name')}" != server.history.repo:
            error = {"type": "NOT_FOUND", "message": "Could not resolve to a Repository"}
            return JSONResponse({"data": {"repository": None}, "errors": [error]})
        number = variables.get("number")
        nodes = [
            {"number": e["source"]["number"], "repository": {"nameWithOwner": e["source"]["repo"]}}
            for e in server.history.timeline.get(number, [])
            if e["event"] == "connected" and e.get("source") and not server.history.is_pull(e["source"]["number"])
        ]
        pull = {"closingIssuesReferences": {"nodes": nodes}} if server.history.is_pull(number) else None
        return JSONResponse({"data": {"repository": {"pullRequest": pull}}})

    @app.get(PREFIX + "/rate_limit")
    async def rate_limit():
        now = time.time()
        with server._lock:
            server._budget.refresh(now)
            core = server._budget.snapshot()
        return JSONResponse(data.rate_limit(core, now))

    @app.get(PREFIX + "/users/{login}")
    async def get_user(login: str):
        if login not in server.history.users:
            raise _not_found()
        return JSONResponse(data.user(login, full=True))

    @app.get(PREFIX + "/repos/{owner}/{repo}")
    async def get_repo(owner: str, repo: str):
        ours(owner, repo)
        return JSONResponse(data.repo())

    @app.get(PREFIX + "/repos/{owner}/{repo}/pulls")
    async def list_pulls(
        request: Request,
        owner: str,
        repo: str,
        state: str = "open",
        sort: str = "created",
        direction: str | None = None,
        base: str | None = None,
        head: str | None = None,
    ):
        ours(owner, repo)
        if state not in ("open", "closed", "all"):
            return _validation_failed("PullRequest", "state")
        keys = {
            "created": lambda p: p["created_at"],
            "updated": lambda p: p["updated_at"],
            "popularity": lambda p: len(p["comments"]),
            "long-running": lambda p: p["created_at"],
        }
        if sort not in keys or direction not in (None, "asc", "desc"):
            return _validation_failed("PullRequest", "sort" if sort not in keys else "direction")
        direction = direction or ("desc" if sort == "created" else "asc")
        pulls = [p for p in server.history.pulls if state == "all" or p["state"] == state]
        if base:
            pulls = [p for p in pulls if p["base_ref"] == base]
        if head:
            owner_, _, ref = head.rpartition(":")
            pulls = [p for p in pulls if p["head_ref"] == ref and (not owner_ or owner_ == owner)]
        pulls.sort(key=lambda p: (keys[sort](p), p["number"]), reverse=direction == "desc")
        return page(request, [data.pull(p["number"], full=False) for p in pulls])

    @app.get(PREFIX + "/repos/{owner}/{repo}/pulls/{number}")
    async def get_pull(owner: str, repo: str, number: int):
        ours(owner, repo)
        pull_or_404(number)
        return JSONResponse(data.pull(number, full=True))

    @app.get(PREFIX + "/repos/{owner}/{repo}/pulls/{number}/commits")
    async def pull_commits(request: Request, owner: str, repo: str, number: int):
        ours(owner, repo)
        pr = pull_or_404(number)
        return page(request, [data.commit(sha) for sha in pr["commits"]])

    @app.get(PREFIX + "/repos/{owner}/{repo}/pulls/{number}/files")
    async def pull_files(request: Request, owner: str, repo: str, number: int):
        ours(owner, repo)
        pull_or_404(number)
        return page(request, data.pull_files(number))

    @app.get(PREFIX + "/repos/{owner}/{repo}/commits/{ref}")
    async def get_commit(owner: str, repo: str, ref: str):
        ours(owner, repo)
        try:
            sha = data.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except subprocess.CalledProcessError:
            raise _not_found() from None
        return JSONResponse(data.commit_with_files(sha))

    @app.get(PREFIX + "/repos/{owner}/{repo}/issues")
    async def list_issues(
        request: Request,
        owner: str,
        repo: str,
        state: str = "open",
        sort: str = "created",
        direction: str = "desc",
        since: str | None = None,
    ):
        ours(owner, repo)
        if state not in ("open", "closed", "all"):
            return _validation_failed("Issue", "state")
        keys = {"created": "created_at", "updated": "updated_at", "comments": "comments"}
        if sort not in keys or direction not in ("asc", "desc"):
            return _validation_failed("Issue", "sort" if sort not in keys else "direction")
        items = [i for i in data._items() if state == "all" or i["state"] == state]
        if since:
            items = [i for i in items if i["updated_at"] >= since]
        items.sort(
            key=lambda i: (len(i["comments"]) if sort == "comments" else i[keys[sort]], i["number"]),
            reverse=direction == "desc",
        )
        return page(request, [data.issue(i["number"]) for i in items])

    @app.get(PREFIX + "/repos/{owner}/{repo}/issues/{number}")
    async def get_issue(owner: str, repo: str, number: int):
        ours(owner, repo)
        item_or_404(number)
        return JSONResponse(data.issue(number))

    @app.get(PREFIX + "/repos/{owner}/{repo}/issues/{number}/comments")
    async def issue_comments(request: Request, owner: str, repo: str, number: int, since: str | None = None):
        ours(owner, repo)
        item = item_or_404(number)
        comments = [c for c in item["comments"] if not since or c["created_at"] >= since]
        return page(request, [data.comment(number, c) for c in comments])

    @app.get(PREFIX + "/repos/{owner}/{repo}/issues/{number}/timeline")
    async def issue_timeline(request: Request, owner: str, repo: str, number: int):
        ours(owner, repo)
        item_or_404(number)
        return page(request, data.timeline(number))

    return app


class GitHubServer:
    """A GitHub REST API server for one `History`, on 127.0.0.1 and a free port (a context manager).

    Attributes: base_url ("http://127.0.0.1:<port>/api/v3", for `Github(base_url=...)`), root_url
    (the same without /api/v3: html_url and Link URLs start with it), port, token, history, requests
    (every request seen, a list of `ServedRequest`).
    """

    def __init__(self, history, token: str = "ghp_test", rate_limit: int = 5000):
        self.history = history
        self.token = token
        self.requests: list[ServedRequest] = []
        self.port: int | None = None
        self.root_url = ""
        self.base_url = ""
        self.payloads: _Payloads | None = None
        self._lock = threading.Lock()
        self._budget = _Budget(rate_limit)
        self._faults: list[_Fault] = []
        self._app: FastAPI | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._request_ids = 0

    # -- lifecycle
    def start(self) -> GitHubServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by connections: no 40 ms stalls
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root_url + PREFIX
        self.payloads = _Payloads(self.history, self.root_url)
        self._app = _build_app(self)
        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",
            lifespan="off",  # nothing to start; and no lifespan task to outlive the server
            loop="asyncio",
            http="h11",
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # scope["client"] must be the socket's peer (see _drop)
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        # uvicorn installs signal handlers only in the main thread, so it runs in a thread as is
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [sock]}, name=f"github-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the GitHub test server did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                raise RuntimeError("the GitHub test server did not stop")
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> GitHubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- controls
    def set_rate_limit(self, remaining: int, reset_in: float = RATE_WINDOW, limit: int | None = None) -> None:
        """Set the primary rate limit: `remaining` requests left until `reset_in` seconds from now."""
        with self._lock:
            if limit is not None:
                self._budget.limit = limit
            self._budget.remaining = max(0, min(remaining, self._budget.limit))
            self._budget.reset_at = time.time() + reset_in

    @property
    def rate_limit(self) -> dict[str, int]:
        """The core budget now: limit, remaining, reset (epoch seconds), used."""
        with self._lock:
            self._budget.refresh(time.time())
            return self._budget.snapshot()

    def fail(
        self,
        path_regex: str,
        status: int,
        times: int = 1,
        body: dict | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests whose path (with query) matches `path_regex` (re.search) with `status`.

        The default body is GitHub's for that status ({"message": "Not Found", ...} for 404, "Server Error"
        for 5xx). Injected answers spend rate-limit budget like any other.
        """
        if body is None:
            message = {404: "Not Found", 401: "Bad credentials"}.get(status)
            if message is None:
                message = "Server Error" if status >= 500 else HTTPStatus(status).phrase
            body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        fault = _Fault(re.compile(path_regex), times, status, body, {k.lower(): v for k, v in (headers or {}).items()})
        with self._lock:
            self._faults.append(fault)

    def fail_abuse(self, path_regex: str, retry_after: int = 1, times: int = 1) -> None:
        """GitHub's secondary rate limit ("abuse detection"): 403 with Retry-After."""
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID "
            "C0DE:1234:5678:9ABC:DEF0 and timestamp 2024-03-01 12:00:00 UTC.",
            "documentation_url": SECONDARY_DOCS,
            "status": "403",
        }
        self.fail(path_regex, 403, times, body, {"Retry-After": str(retry_after)})

    def drop(self, path_regex: str, times: int = 1) -> None:
        """Close the connection of the next `times` matching requests without answering (a network error)."""
        with self._lock:
            self._faults.append(_Fault(re.compile(path_regex), times, drop=True))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- the gate in front of the application: faults, authentication, rate limit, ETags, the record
    def _take_fault(self, target: str, drop: bool) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.drop == drop and fault.times > 0 and fault.pattern.search(target):
                    fault.times -= 1
                    return fault
        return None

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        return scheme.lower() in ("token", "bearer") and credential.strip() == self.token

    def _record(self, method: str, target: str, status: int | None, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(ServedRequest(method, target, status, "if-none-match" in headers, headers))

    async def _asgi(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

        if self._take_fault(target, drop=True):
            self._record(method, target, None, headers)
            await self._drop(scope)
            return

        async def answer(status: int, body: bytes | None, extra: dict[str, str], spend: bool) -> None:
            with self._lock:
                self._request_ids += 1
                rid = f"C0DE:{self._request_ids:04X}:{self.port or 0:04X}:0000:00000000"
                if spend:
                    self._budget.remaining = max(0, self._budget.remaining - 1)
                rate = self._budget.headers()
            out = {
                "server": "GitHub.com",
                "x-github-api-version-selected": "2022-11-28",
                "x-github-media-type": "github.v3; format=json",
                "x-github-request-id": rid,
                "x-oauth-scopes": "repo",
                "x-accepted-oauth-scopes": "repo",
                "vary": "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding",
                **rate,
                **extra,
            }
            if body is not None:
                out.setdefault("content-type", "application/json; charset=utf-8")
                out["content-length"] = str(len(body))
            self._record(method, target, status, headers)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.items()],
                }
            )
            await send({"type": "http.response.body", "body": body or b""})

        def dump(doc: Any) -> bytes:
            return doc.encode() if isinstance(doc, str) else json.dumps(doc, separators=(",", ":")).encode()

        with self._lock:
            self._budget.refresh(time.time())
            exhausted = self._budget.remaining <= 0
        if not self._authorized(headers):
            body = {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
            await answer(401, dump(body), {}, spend=False)
            return
        free = scope["path"] == PREFIX + "/rate_limit"
        if exhausted and not free:
            user_id = self.history.users.get("alice", {}).get("id", 1)
            body = {
                "message": f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for "
                "help, please include the request ID C0DE:0000:0000:0000:00000000 and timestamp "
                f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}.",
                "documentation_url": RATE_DOCS,
                "status": "403",
            }
            await answer(403, dump(body), {}, spend=False)
            return
        fault = self._take_fault(target, drop=False)
        if fault:
            await answer(fault.status, dump(fault.body), dict(fault.headers), spend=not free)
            return

        status, app_headers, body = await self._call_app(scope, receive)
        extra = {k: v for k, v in app_headers.items() if k == "link"}
        if method == "GET" and status == 200:
            etag = f'"{hashlib.sha256(body).hexdigest()}"'
            extra |= {"etag": etag, "cache-control": "private, max-age=60, s-maxage=60"}
            if _etag_matches(headers.get("if-none-match"), etag):
                extra.pop("link", None)
                await answer(304, None, extra, spend=False)
                return
        await answer(status, body, extra, spend=not free)

    async def _call_app(self, scope, receive) -> tuple[int, dict[str, str], bytes]:
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, capture)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
        return start.get("status", 500), headers, b"".join(chunks)

    async def _drop(self, scope) -> None:
        """Close the request's connection without a word: the client sees the peer go away."""
        state = self._uvicorn.server_state
        client = tuple(scope.get("client") or ())
        conn = next((c for c in list(state.connections) if tuple(getattr(c, "client", None) or ()) == client), None)
        if conn is None:
            raise RuntimeError(f"no connection from {client} to drop")
        conn.transport.close()
        for _ in range(200):  # until uvicorn sees the connection lost: it then sends nothing for this request
            if conn not in state.connections:
                break
            await asyncio.sleep(0.001)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags
