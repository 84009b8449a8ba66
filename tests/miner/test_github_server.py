"""The GitHub test server, through real PyGithub, on the real fixture repository (tests/miner/fixture_history.py).

Checks that every attribute the miner reads parses, that pagination, authentication, the rate limit,
conditional requests and injected faults behave like GitHub's, and that the fixture's history is what it
claims: the right commits on main, and bug fixes whose tests fail before and pass after.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import github
import pytest
import requests
from fixture_history import make_history
from github import Github
from github_server import GitHubServer

REPO = "acme/widgets"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return make_history(tmp_path_factory.mktemp("github-server"))


@pytest.fixture
def server(history):
    with GitHubServer(history) as srv:
        yield srv


def client(server: GitHubServer, **kwargs) -> Github:
    """PyGithub as the miner uses it; retry=None so PyGithub does not retry by itself."""
    kwargs.setdefault("auth", github.Auth.Token(server.token))
    kwargs.setdefault("retry", None)
    kwargs.setdefault("seconds_between_requests", 0)  # PyGithub waits 0.25 s between requests by default
    return Github(base_url=server.base_url, **kwargs)


@pytest.fixture
def gh(server):
    g = client(server)
    yield g
    g.close()


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def served(server: GitHubServer, pattern: str) -> list:
    return [r for r in server.requests if re.search(pattern, r.path)]


# -- the payloads, read through PyGithub -------------------------------------------------------------------


def test_repository(gh, server, history):
    repo = gh.get_repo(REPO)
    assert repo.full_name == REPO
    assert repo.default_branch == "main" == history.default_branch
    assert repo.html_url == f"{server.root_url}/{REPO}"
    assert repo.license.spdx_id == "MIT" and repo.license.key == "mit" and repo.license.name == "MIT License"
    assert repo.owner.login == "acme" and repo.owner.type == "Organization"
    assert repo.url == f"{server.base_url}/repos/{REPO}"


def test_closed_pulls_page_by_page_each_once_in_order(server, history):
    gh = client(server, per_page=2)
    pulls = list(gh.get_repo(REPO).get_pulls(state="closed", sort="created", direction="desc"))
    numbers = [p.number for p in pulls]
    assert numbers == [14, 11, 10, 9, 8, 6, 5, 3, 2]
    assert numbers == [p["number"] for p in sorted(history.pulls, key=lambda p: p["created_at"], reverse=True)]
    pages = served(server, r"/repos/acme/widgets/pulls\?")
    assert len(pages) == 5  # 9 pull requests, 2 a page, the next page's URL taken from the Link header
    assert [re.search(r"[?&]page=(\d+)", r.path + "&page=1").group(1) for r in pages] == list("12345")
    assert all("per_page=2" in r.path and "state=closed" in r.path for r in pages)

    ascending = [p.number for p in gh.get_repo(REPO).get_pulls(state="closed", sort="created", direction="asc")]
    assert ascending == numbers[::-1]
    by_update = [p.number for p in gh.get_repo(REPO).get_pulls(state="all", sort="updated", direction="desc")]
    assert by_update == [p["number"] for p in sorted(history.pulls, key=lambda p: p["updated_at"], reverse=True)]
    assert list(gh.get_repo(REPO).get_pulls(state="open")) == []
    assert gh.get_repo(REPO).get_pulls(state="closed").totalCount == 9


def test_link_header_is_rfc5988_with_absolute_urls(server):
    auth = {"Authorization": f"token {server.token}"}
    url = f"{server.base_url}/repos/{REPO}/pulls"

    def links(page: int, per_page: int = 2) -> dict[str, str]:
        r = requests.get(url, params={"state": "all", "per_page": per_page, "page": page}, headers=auth, timeout=5)
        assert r.status_code == 200
        return {rel: v["url"] for rel, v in r.links.items()}

    first = links(1)
    assert set(first) == {"next", "last"}
    assert first["next"] == f"{url}?state=all&per_page=2&page=2"
    assert first["last"] == f"{url}?state=all&per_page=2&page=5"
    middle = links(3)
    assert set(middle) == {"prev", "next", "last", "first"}
    assert (
        middle["prev"].endswith("page=2") and middle["next"].endswith("page=4") and middle["first"].endswith("page=1")
    )
    assert set(links(5)) == {"prev", "first"}
    assert links(1, per_page=500) == {}  # capped at 100: everything fits on one page, no Link
    r = requests.get(url, params={"state": "all"}, headers=auth, timeout=5)
    assert len(r.json()) == 9 and "link" not in r.headers  # default 30 a page
    raw = requests.get(url, params={"state": "all", "per_page": 4}, headers=auth, timeout=5).headers["link"]
    assert re.fullmatch(r'<http://127\.0\.0\.1:\d+/api/v3/[^>]+>; rel="next", <[^>]+>; rel="last"', raw)


def test_pull_request_attributes(gh, server, history):
    repo = gh.get_repo(REPO)
    seen = {}
    for pull in repo.get_pulls(state="closed", sort="created", direction="desc"):
        want = history.pull(pull.number)
        assert pull.title == want["title"] and pull.body == want["body"]
        assert pull.html_url == f"{server.root_url}/{REPO}/pull/{pull.number}"
        assert pull.created_at == dt(want["created_at"]) and pull.updated_at == dt(want["updated_at"])
        assert pull.merged_at == dt(want["merged_at"]) and pull.closed_at == dt(want["closed_at"])
        assert pull.merge_commit_sha == want["merge_commit_sha"]
        assert pull.base.sha == want["base_sha"] and pull.base.ref == "main"
        assert pull.head.sha == want["head_sha"] and pull.head.ref == want["head_ref"]
        assert pull.user.login == want["user"]
        assert pull.state == "closed"
        before = len(server.requests)
        assert pull.commits == len(want["commits"])  # not in the list's items: PyGithub fetches the pull
        assert len(server.requests) == before + 1 and server.requests[-1].path.endswith(f"/pulls/{pull.number}")
        assert pull.merged == (want["merged_at"] is not None)
        seen[pull.number] = pull
    assert seen[10].merged_at is None and seen[10].merge_commit_sha is None and not seen[10].merged
    assert seen[2].body == "Fixes #1.\n\n<!-- closes #99 -->"
    single = repo.get_pull(5)
    assert single.commits == 2 and single.changed_files == 3 and single.merged_by.login == "alice"


def test_pull_commits(gh, history):
    repo = gh.get_repo(REPO)
    for want in history.pulls:
        commits = list(repo.get_pull(want["number"]).get_commits())
        assert [c.sha for c in commits] == want["commits"]
        for c in commits:
            message = git(history.path, "show", "-s", "--format=%B", c.sha)
            assert c.commit.message == message
            assert c.commit.author.date == dt(git(history.path, "show", "-s", "--format=%aI", c.sha))
            assert c.author.login == want["user"]
    wip, fix = repo.get_pull(5).get_commits()
    assert (wip.commit.message, fix.commit.message) == ("wip: slugify", "handle digits, fixes #4")
    assert fix.parents[0].sha == wip.sha


def test_pull_files_match_git(gh, server, history):
    repo = gh.get_repo(REPO)
    files = {f.filename: f for f in repo.get_pull(2).get_files()}
    assert set(files) == {"src/widgets/__init__.py", "tests/test_widgets.py", "CHANGES.rst"}
    base, merged = history.pull(2)["base_sha"], history.pull(2)["merge_commit_sha"]
    for name, f in files.items():
        assert f.status == "modified" and f.previous_filename is None
        added, deleted = git(history.path, "diff", "--numstat", base, merged, "--", name).split("\t")[:2]
        assert (f.additions, f.deletions, f.changes) == (int(added), int(deleted), int(added) + int(deleted))
        diff = subprocess.run(
            ["git", "diff", base, merged, "--", name], cwd=history.path, capture_output=True, text=True
        )
        assert f.patch.startswith("@@ ") and "+++ b/" not in f.patch and not f.patch.endswith("\n")
        assert diff.stdout.endswith(f.patch + "\n")  # the hunks of git's diff, without its headers
        assert f.blob_url.startswith(f"{server.root_url}/{REPO}/blob/{merged}/")

    logo = {f.filename: f for f in repo.get_pull(9).get_files()}["docs/_static/logo.png"]
    assert logo.status == "added" and logo.patch is None and (logo.additions, logo.deletions) == (0, 0)

    refactor = {f.filename: f for f in repo.get_pull(10).get_files()}  # not merged: the branch's own changes
    assert refactor["tests/test_core.py"].status == "renamed"
    assert refactor["tests/test_core.py"].previous_filename == "tests/test_widgets.py"
    assert refactor["tests/test_core.py"].patch.startswith("@@ ")
    assert refactor["MANIFEST.in"].status == "removed" and refactor["MANIFEST.in"].deletions == 2
    assert refactor["src/widgets/_compat.py"].status == "added"

    docs = {f.filename for f in repo.get_pull(3).get_files()}  # a merge commit: the PR's own changes only
    assert docs == {"docs/index.rst", "README.md"}


def test_commit_endpoint(gh, history):
    commit = gh.get_repo(REPO).get_commit(history.commits["pairwise"])
    assert commit.commit.message == "Add pairwise helper\n\nCloses #12"
    assert {f.filename for f in commit.files} == {"src/widgets/__init__.py", "tests/test_widgets.py"}
    assert commit.stats.additions > 0 and commit.parents[0].sha == history.commits["pr-11"]
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo(REPO).get_commit("0" * 40)


def test_issue_attributes_and_comments(gh, server, history):
    repo = gh.get_repo(REPO)
    for want in history.issues:
        issue = repo.get_issue(want["number"])
        assert issue.number == want["number"] and issue.title == want["title"] and issue.body == want["body"]
        assert issue.html_url == f"{server.root_url}/{REPO}/issues/{want['number']}"
        assert issue.created_at == dt(want["created_at"]) and issue.closed_at == dt(want["closed_at"])
        assert issue.state == want["state"] and issue.user.login == want["user"]
        assert issue.pull_request is None
        comments = list(issue.get_comments())
        assert [(c.body, c.created_at, c.user.login) for c in comments] == [
            (c["body"], dt(c["created_at"]), c["user"]) for c in want["comments"]
        ]
    first_commit = dt(git(history.path, "show", "-s", "--format=%aI", history.pull(2)["commits"][0]))
    early, late = repo.get_issue(1).get_comments()
    assert early.created_at < first_commit < late.created_at

    as_issue = repo.get_issue(2)  # a pull request seen as an issue
    assert as_issue.pull_request is not None and as_issue.pull_request.merged_at == dt(history.pull(2)["merged_at"])
    assert as_issue.html_url == f"{server.root_url}/{REPO}/pull/2"
    assert repo.get_issue(10).pull_request.merged_at is None
    assert [c.body for c in repo.get_issue(10).get_comments()] == ["Too big to review in one go, let's split it up."]


def test_issue_list_holds_issues_and_pulls(gh):
    items = list(gh.get_repo(REPO).get_issues(state="all", direction="asc"))
    assert [i.number for i in items] == list(range(1, 15))
    assert {i.number for i in items if i.pull_request} == {2, 3, 5, 6, 8, 9, 10, 11, 14}


def test_timelines(gh, history):
    repo = gh.get_repo(REPO)
    pr8 = list(repo.get_issue(8).get_timeline())
    assert [e.event for e in pr8] == ["committed", "connected", "merged", "closed", "head_ref_deleted"]
    connected = pr8[1]
    assert connected.created_at == dt("2024-01-22T09:20:00Z")
    # PyGithub's TimelineEvent.source is None for anything but "cross-referenced": read the raw payload
    assert connected.source is None
    assert connected.raw_data["source"]["issue"]["number"] == 7
    assert connected.raw_data["source"]["issue"]["repository"]["full_name"] == REPO
    assert pr8[2].commit_id == history.pull(8)["merge_commit_sha"]
    assert pr8[0].created_at is None and pr8[0].raw_data["sha"] == history.pull(8)["commits"][0]

    issue1 = list(repo.get_issue(1).get_timeline())
    refs = [(e.source.issue.number, e.source.issue.repository.full_name) for e in issue1 if e.source]
    assert refs == [(2, REPO), (3, REPO)]
    closed = next(e for e in issue1 if e.event == "closed")
    assert closed.commit_id == history.pull(2)["merge_commit_sha"] and closed.created_at == dt("2024-01-07T10:00:00Z")
    assert [e.event for e in issue1 if e.event == "commented"] == ["commented", "commented"]

    issue13 = [e for e in repo.get_issue(13).get_timeline() if e.event == "cross-referenced"]
    assert [(e.source.issue.number, e.source.issue.repository.full_name) for e in issue13] == [
        (14, REPO),
        (5, "other/lib"),
    ]
    assert issue13[0].source.issue.pull_request is not None

    issue4 = list(repo.get_issue(4).get_timeline())
    assert [e.commit_id for e in issue4 if e.event in ("referenced", "closed")] == [history.pull(5)["commits"][1]] * 2
    issue12 = [e for e in repo.get_issue(12).get_timeline() if e.event == "closed"]
    assert issue12[0].commit_id == history.commits["pairwise"]
    for number, events in history.timeline.items():  # every event the history lists is served, in order
        assert [e.event for e in repo.get_issue(number).get_timeline()] == [e["event"] for e in events]


def test_rate_limit_endpoint_is_free(gh, server):
    overview = gh.get_rate_limit()
    core = overview.resources.core
    assert (core.limit, core.remaining, core.used) == (5000, 5000, 0)
    assert overview.rate.remaining == 5000 and overview.resources.search.limit == 30
    assert abs(core.reset.timestamp() - (time.time() + 3600)) < 5
    assert gh.get_rate_limit().resources.core.remaining == 5000
    gh.get_repo(REPO)
    assert gh.get_rate_limit().resources.core.remaining == 4999
    assert gh.rate_limiting == (4999, 5000)
    assert server.rate_limit["remaining"] == 4999


def test_rate_limit_headers_on_every_answer(server):
    r = requests.get(f"{server.base_url}/repos/{REPO}", headers={"Authorization": f"Bearer {server.token}"}, timeout=5)
    assert r.status_code == 200
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used"):
        assert r.headers[name].isdigit()
    assert r.headers["x-ratelimit-resource"] == "core" and r.headers["x-ratelimit-used"] == "1"
    assert r.headers["content-type"] == "application/json; charset=utf-8"


def test_bad_credentials(server):
    for auth in (github.Auth.Token("ghp_wrong"), None):
        g = client(server, auth=auth)
        with pytest.raises(github.BadCredentialsException) as err:
            g.get_repo(REPO)
        assert err.value.status == 401 and err.value.data["message"] == "Bad credentials"
    assert server.rate_limit["remaining"] == 5000


def test_unknown_objects_are_404(gh, server):
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("acme/nope")
    repo = gh.get_repo(REPO)
    with pytest.raises(github.UnknownObjectException):
        repo.get_pull(1)  # an issue, not a pull request
    with pytest.raises(github.UnknownObjectException):
        repo.get_issue(99)
    server.fail(r"/issues/7$", 404)
    with pytest.raises(github.UnknownObjectException) as err:
        repo.get_issue(7)
    assert err.value.data["message"] == "Not Found"
    assert repo.get_issue(7).number == 7  # only once


def test_rate_limit_exhausted_then_refilled_at_reset(server):
    gh = client(server)
    server.set_rate_limit(remaining=2, reset_in=1.0)
    repo = gh.get_repo(REPO)
    repo.get_issue(1)
    with pytest.raises(github.RateLimitExceededException) as err:
        repo.get_issue(4)
    assert err.value.status == 403
    assert err.value.data["message"].startswith("API rate limit exceeded for ")
    assert err.value.headers["x-ratelimit-remaining"] == "0"
    reset = int(err.value.headers["x-ratelimit-reset"])
    assert gh.get_rate_limit().resources.core.remaining == 0  # /rate_limit still answers
    with pytest.raises(github.RateLimitExceededException):
        repo.get_issue(4)  # still exhausted
    time.sleep(max(0.0, reset - time.time()) + 0.05)  # what a client reading x-ratelimit-reset does
    assert repo.get_issue(4).number == 4
    assert server.rate_limit["remaining"] == 4999


def test_conditional_request_gets_304_and_spends_nothing(gh, server):
    url = f"/repos/{REPO}/pulls/2"
    headers, data = gh.requester.requestJsonAndCheck("GET", url)
    etag = headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag) and data["number"] == 2
    remaining = server.rate_limit["remaining"]
    headers, data = gh.requester.requestJsonAndCheck("GET", url, headers={"If-None-Match": etag})
    assert data is None and headers["etag"] == etag
    assert server.requests[-1].status == 304 and server.requests[-1].conditional and server.requests[-1].not_modified
    assert server.rate_limit["remaining"] == remaining == int(headers["x-ratelimit-remaining"])
    absolute = f"{server.base_url}{url}"
    headers, data = gh.requester.requestJsonAndCheck("GET", absolute, headers={"If-None-Match": f"W/{etag}"})
    assert data is None
    headers, data = gh.requester.requestJsonAndCheck("GET", url, headers={"If-None-Match": '"stale"'})
    assert data["number"] == 2 and server.requests[-1].status == 200 and server.requests[-1].conditional
    assert server.rate_limit["remaining"] == remaining - 1
    _, other = gh.requester.requestJsonAndCheck("GET", f"/repos/{REPO}/pulls/3")
    assert server.requests[-1].status == 200  # an ETag is per body


def test_secondary_rate_limit(gh, server):
    repo = gh.get_repo(REPO)
    server.fail_abuse(r"/pulls/2/files", retry_after=1)
    with pytest.raises(github.RateLimitExceededException) as err:
        list(repo.get_pull(2).get_files())
    assert err.value.status == 403 and err.value.headers["retry-after"] == "1"
    assert err.value.data["message"].startswith("You have exceeded a secondary rate limit")
    assert len(list(repo.get_pull(2).get_files())) == 3


def test_default_pygithub_retry_waits_out_retry_after(server):
    server.fail_abuse(r"/pulls/2$", retry_after=1)
    gh = client(server, retry=github.GithubRetry(total=3))
    start = time.monotonic()
    assert gh.get_repo(REPO).get_pull(2).number == 2
    assert time.monotonic() - start >= 1
    assert [r.status for r in served(server, r"/pulls/2$")] == [403, 200]


def test_server_errors(gh, server):
    repo = gh.get_repo(REPO)
    server.fail(r"/issues/1/comments", 500, times=2)
    server.fail(r"/issues/4$", 502, body={"message": "Server Error"}, headers={"X-Extra": "1"})
    for _ in range(2):
        with pytest.raises(github.GithubException) as err:
            list(repo.get_issue(1).get_comments())
        assert err.value.status == 500
    assert len(list(repo.get_issue(1).get_comments())) == 2
    with pytest.raises(github.GithubException) as err:
        repo.get_issue(4)
    assert err.value.status == 502 and err.value.headers["x-extra"] == "1"
    server.fail(r"/issues/4$", 422, body={"message": "Validation Failed", "errors": []})
    with pytest.raises(github.GithubException) as err:
        repo.get_issue(4)
    assert err.value.status == 422
    assert repo.get_issue(4).number == 4
    assert [r.status for r in served(server, r"/issues/4$")] == [502, 422, 200]


def test_dropped_connection_is_a_connection_error(gh, server):
    repo = gh.get_repo(REPO)
    server.drop(r"/issues/7$", times=2)
    for _ in range(2):
        with pytest.raises(requests.exceptions.ConnectionError):
            repo.get_issue(7)
    assert repo.get_issue(7).number == 7
    assert [r.status for r in served(server, r"/issues/7$")] == [None, None, 200]


def test_requests_are_recorded(gh, server):
    gh.get_repo(REPO).get_issue(1)
    assert [(r.method, r.path, r.status, r.conditional) for r in server.requests] == [
        ("GET", f"/api/v3/repos/{REPO}", 200, False),
        ("GET", f"/api/v3/repos/{REPO}/issues/1", 200, False),
    ]
    assert server.requests[0].headers["authorization"] == "token ghp_test"


def test_start_and_stop_are_clean_and_fast(history):
    threads = set(threading.enumerate())
    start = time.monotonic()
    srv = GitHubServer(history, token="other").start()
    assert time.monotonic() - start < 1
    port = srv.port
    gh = client(srv)
    assert gh.get_repo(REPO).full_name == REPO  # a keep-alive connection stays open
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 1
    gh.close()
    assert set(threading.enumerate()) == threads
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    with socket.socket() as sock:  # the port is free again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


# -- the fixture history ---------------------------------------------------------------------------------


def export(repo: Path, sha: str, dest: Path) -> Path:
    data = subprocess.run(["git", "archive", "--format=tar", sha], cwd=repo, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def run_tests(tree: Path) -> dict[str, str]:
    """`python -m pytest` in an exported tree (PYTHONPATH=src, no install): test id -> PASSED/FAILED/ERROR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {"PYTHONPATH": "src", "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", f"--rootdir={tree}"]
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=120).stdout
    return dict((m[2], m[1]) for m in re.finditer(r"^(PASSED|FAILED|ERROR) (\S+)", out, re.M))


FIXES = ["pr-2", "pr-5", "pr-8", "pr-14", "pairwise"]


@pytest.mark.parametrize("change", FIXES)
def test_fixes_fail_before_and_pass_after(history, tmp_path, change):
    """SWE-bench style: the fix's tests on the old code fail (some) and on the new code all pass."""
    if change == "pairwise":
        after = history.commits["pairwise"]
        before = git(history.path, "rev-parse", f"{after}^")
    else:
        pr = history.pull(int(change.removeprefix("pr-")))
        before, after = pr["base_sha"], pr["merge_commit_sha"]
    new_tree = export(history.path, after, tmp_path / "after")
    old_tree = export(history.path, before, tmp_path / "before")
    mixed = export(history.path, before, tmp_path / "mixed")
    shutil.copytree(new_tree / "tests", mixed / "tests", dirs_exist_ok=True)  # the fix's tests on the old code
    with ThreadPoolExecutor(3) as pool:
        old_only, old, new = pool.map(run_tests, [old_tree, mixed, new_tree])
    assert set(old_only.values()) == {"PASSED"} and set(new.values()) == {"PASSED"}
    assert set(old) == set(new)
    fail_to_pass = sorted(t for t in new if old[t] != "PASSED")
    assert fail_to_pass == [t for t in new if t not in old_only]  # exactly the tests the fix adds
    assert all(old[t] == "PASSED" for t in old_only)  # and the rest keep passing


def test_every_main_commit_passes_its_tests_on_python39_syntax(history, tmp_path):
    shas = git(history.path, "rev-list", "--first-parent", "main").split()
    trees = [export(history.path, sha, tmp_path / sha) for sha in shas]
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(run_tests, trees))
    assert len(shas) == 10
    for sha, tree, results in zip(shas, trees, outcomes, strict=True):
        assert results and set(results.values()) == {"PASSED"}, (sha, results)
        for source in tree.rglob("*.py"):
            ast.parse(source.read_text(), feature_version=(3, 9))


def test_main_history_looks_like_github(history):
    log = git(history.path, "log", "--first-parent", "--format=%H %P|%s|%cn", "main").splitlines()
    rows = [(line.split("|")[0].split(), line.split("|")[1], line.split("|")[2]) for line in log][::-1]
    subjects = [s for _, s, _ in rows]
    assert subjects == [
        "Initial commit",
        "Fix clamp with reversed bounds (#2)",
        "Merge pull request #3 from dev/docs",
        "Merge pull request #5 from dev/slugify",
        "Speed up mean() (#6)",
        "Accept lowercase units (#8)",
        "Add logo (#9)",
        "Port fix from upstream (#11)",
        "Add pairwise helper",
        "Fix chunk remainder (#14)",
    ]
    parents = {s: len(shas) - 1 for shas, s, _ in rows}
    assert parents["Merge pull request #3 from dev/docs"] == parents["Merge pull request #5 from dev/slugify"] == 2
    assert parents["Fix clamp with reversed bounds (#2)"] == parents["Add pairwise helper"] == 1
    assert {c for _, s, c in rows if "(#" in s or s.startswith("Merge")} == {"GitHub"}
    for pr in history.pulls:
        if pr["merge_commit_sha"]:
            first_parent = git(history.path, "rev-parse", f"{pr['merge_commit_sha']}^1")
            assert first_parent == pr["base_sha"]
            assert pr["merge_commit_sha"] in {shas[0] for shas, _, _ in rows}
        assert git(history.path, "rev-parse", f"refs/pull/{pr['number']}/head") == pr["head_sha"]
    full = git(history.path, "log", "--format=%B", "-n1", history.commits["pr-2"])
    assert full == "Fix clamp with reversed bounds (#2)\n\nFixes #1."
    merge5 = git(history.path, "log", "--format=%B", "-n1", history.commits["pr-5"])
    assert merge5 == "Merge pull request #5 from dev/slugify\n\nFix slugify digits"
    assert git(history.path, "rev-parse", f"{history.commits['pr-5']}^2") == history.pull(5)["head_sha"]
    assert (
        git(history.path, "log", "--format=%B", "-n1", history.commits["pairwise"])
        == "Add pairwise helper\n\nCloses #12"
    )
    assert "#7" not in git(history.path, "log", "--format=%B", "-n1", history.commits["pr-8"])
    refactor = history.pull(10)
    assert refactor["merged_at"] is None and refactor["merge_commit_sha"] is None
    for sha in refactor["commits"]:
        assert subprocess.run(["git", "merge-base", "--is-ancestor", sha, "main"], cwd=history.path).returncode == 1
    assert git(history.path, "rev-parse", "dev/refactor") == refactor["head_sha"]
    assert git(history.path, "rev-parse", "v0.1.0") == history.commits["initial"]
    assert git(history.path, "rev-parse", "v0.2.0") == git(history.path, "rev-parse", "main")
    assert git(history.path, "branch", "--format=%(refname:short)").split() == ["dev/refactor", "main"]
    files = git(history.path, "ls-tree", "-r", "--name-only", "main").split()
    for name in ("pyproject.toml", "LICENSE", "README.md", "docs/index.rst", "CHANGES.rst", "src/widgets/__init__.py"):
        assert name in files
    assert "Permission is hereby granted, free of charge" in (history.path / "LICENSE").read_text()


def test_dates_are_consistent(history):
    def when(sha: str, fmt: str = "%cI") -> datetime:
        return dt(git(history.path, "show", "-s", f"--format={fmt}", sha))

    stamps = []
    for pr in history.pulls:
        stamps += [pr["created_at"], pr["updated_at"], pr["closed_at"]] + [c["created_at"] for c in pr["comments"]]
        assert dt(pr["created_at"]) < dt(pr["closed_at"]) <= dt(pr["updated_at"])
        for sha in pr["commits"]:
            assert when(sha) <= dt(pr["closed_at"])
        if pr["merge_commit_sha"]:
            assert pr["merged_at"] == pr["closed_at"]
            assert when(pr["merge_commit_sha"]) == when(pr["merge_commit_sha"], "%aI") == dt(pr["merged_at"])
            assert when(pr["merge_commit_sha"]) > when(pr["base_sha"])
    for issue in history.issues:
        stamps += [issue["created_at"], issue["closed_at"]] + [c["created_at"] for c in issue["comments"]]
        for c in issue["comments"]:
            assert dt(issue["created_at"]) < dt(c["created_at"])
    for number, links in {2: 1, 5: 4, 8: 7, 14: 13}.items():
        assert dt(history.issue(links)["created_at"]) < dt(history.pull(number)["created_at"])
        assert history.issue(links)["closed_at"] == history.pull(number)["merged_at"]
    assert dt(history.issue(12)["closed_at"]) == when(history.commits["pairwise"])
    for events in history.timeline.values():
        stamps += [e["created_at"] for e in events if e["created_at"]]
    assert all(re.fullmatch(r"2024-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps if s)


def test_history_is_reproducible(history, tmp_path):
    again = make_history(tmp_path)
    assert again.commits == history.commits
    assert [p["head_sha"] for p in again.pulls] == [p["head_sha"] for p in history.pulls]
    assert again.expected == history.expected


def test_expected_outcomes_cover_every_candidate(history):
    pair = f"commit-{history.commits['pairwise'][:12]}"
    assert set(history.expected) == {f"pr-{p['number']}" for p in history.pulls} | {pair}
    assert set(history.links) == set(history.expected)
    assert history.expected["pr-8"] == {"github": "valid", "git": "no_linked_issue"}
