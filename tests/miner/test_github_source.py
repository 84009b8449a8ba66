"""Mining through PyGithub against a GitHub-compatible server on 127.0.0.1: links, issues, caching,
rate limits and errors."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from fixture_history import make_history
from github_server import GitHubServer
from swefarm.miner.github_api import GitHubAPI, GitHubError
from swefarm.miner.github_source import GitHubSource


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return make_history(tmp_path_factory.mktemp("history"))


@pytest.fixture
def server(history):
    with GitHubServer(history) as running:
        yield running


@pytest.fixture
def waits():
    return []


@pytest.fixture
def api(server, tmp_path, waits):
    def wait(seconds, why):  # record, and really wait (a rate limit only lifts when its time comes)
        waits.append((seconds, why))
        time.sleep(min(seconds, 5))

    client = GitHubAPI(token=server.token, base_url=server.base_url, cache_path=tmp_path / "cache.db", on_wait=wait)
    yield client
    client.close()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _records(api, history, **kwargs):
    return {r.key: r for r in GitHubSource(api, history.repo, **kwargs).candidates()}


def test_merged_pull_requests_are_the_candidates(api, history):
    found = _records(api, history)
    assert set(found) == {"pr-2", "pr-3", "pr-5", "pr-6", "pr-8", "pr-9", "pr-11", "pr-14"}  # not #10: unmerged
    for key, record in found.items():
        pull = history.pull(record.number)
        assert record.merge_commit == pull["merge_commit_sha"], key
        assert record.title == pull["title"] and record.kind == "pull"
        assert record.url.endswith(f"/acme/widgets/pull/{record.number}")
        assert record.license == "MIT"
        assert record.head_commit == pull["head_sha"], key  # the branch's head: the task starts at its fork
    assert list(found) == sorted(found, key=lambda k: found[k].created_at, reverse=True)


def test_window_and_max(api, history):
    newest = list(GitHubSource(api, history.repo, max_candidates=3).candidates())
    assert [r.number for r in newest] == [14, 11, 9]
    since = _when(history.pull(8)["created_at"])
    assert set(_records(api, history, since=since)) == {"pr-8", "pr-9", "pr-11", "pr-14"}
    assert set(_records(api, history, until=since - timedelta(seconds=1))) == {"pr-2", "pr-3", "pr-5", "pr-6"}


def test_links_from_text_commits_and_graphql(api, server, history):
    source = GitHubSource(api, history.repo)
    found = {r.key: source.link(r) for r in source.candidates()}
    assert found["pr-2"].linked_issues == [1]  # "Fixes #1."; the "closes #99" in an HTML comment is ignored
    assert found["pr-2"].linked_by == {1: "pull request text"}
    assert found["pr-5"].linked_issues == [4] and found["pr-5"].linked_by == {4: "commit message"}
    assert found["pr-8"].linked_issues == [7] and found["pr-8"].linked_by == {7: "linked on GitHub"}
    assert not [r for r in server.requests if "/issues/8/timeline" in r.path]  # GraphQL answered
    assert found["pr-11"].linked_issues == []  # other/lib#3 belongs to another repository
    assert len(found["pr-5"].commits) == 2


def test_without_graphql_the_timeline_still_links(api, server, history):
    server.fail("/graphql", 404, times=10)
    source = GitHubSource(api, history.repo)
    pr8 = source.link(next(r for r in source.candidates() if r.number == 8))
    assert pr8.linked_issues == [7]
    assert any("/graphql" in r.path and r.status == 404 for r in server.requests)
    assert any("/issues/8/timeline" in r.path for r in server.requests)


def test_issue_text_and_hints_from_before_the_first_commit(api, history):
    source = GitHubSource(api, history.repo)
    pr2 = source.complete(source.link(next(r for r in source.candidates() if r.number == 2)))
    (issue,) = pr2.issues
    assert issue.number == 1 and issue.title == history.issue(1)["title"]
    assert [c.body for c in issue.comments] == [c["body"] for c in history.issue(1)["comments"]]
    from swefarm.miner.filters import FilterConfig
    from swefarm.miner.taskify import make_task

    task, rejections = make_task(pr2, history.path, FilterConfig(), "github")
    assert not rejections
    assert task.problem_statement.startswith(history.issue(1)["title"])
    comments = history.issue(1)["comments"]
    before = [c["body"].strip() for c in comments if _when(c["created_at"]) < pr2.first_commit_at]
    after = [c["body"].strip() for c in comments if _when(c["created_at"]) >= pr2.first_commit_at]
    assert before and after
    assert all(b in task.hints_text for b in before) and not any(a in task.hints_text for a in after)
    assert task.provenance.issue_urls == [issue.url] and task.provenance.pr_number == 2


def test_asking_again_is_answered_from_the_cache_without_spending_budget(api, server, history):
    list(GitHubSource(api, history.repo).candidates())
    before = server.rate_limit["remaining"]
    conditional_before = sum(r.not_modified for r in server.requests)
    list(GitHubSource(api, history.repo).candidates())
    assert api.not_modified >= 1
    assert sum(r.not_modified for r in server.requests) > conditional_before
    spent = before - server.rate_limit["remaining"]
    assert spent <= 1  # only the repository read (not conditional); the pull list pages came back 304


def test_the_rate_limit_is_waited_out_with_a_countdown(api, server, history, waits):
    server.set_rate_limit(0, reset_in=2)
    found = _records(api, history)
    assert len(found) == 8
    assert waits and "rate limit" in waits[0][1] and 1 <= waits[0][0] <= 5


def test_a_secondary_rate_limit_waits_for_retry_after(api, server, history, waits):
    server.fail_abuse(r"/pulls\?", retry_after=1)
    assert len(_records(api, history)) == 8
    assert waits[0] == (1.0, "GitHub rate limit reached while reading /repos/acme/widgets/pulls")


def test_network_errors_and_server_errors_are_retried(api, server, history, waits):
    server.drop(r"/pulls\?", times=1)
    server.fail(r"/pulls\?", 502, times=1)
    assert len(_records(api, history)) == 8
    reasons = [why for _, why in waits]
    assert any("network error" in r for r in reasons) and any("502" in r for r in reasons)


def test_errors_that_retrying_cannot_fix_say_what_to_do(server, history, tmp_path):
    bad = GitHubAPI(token="wrong", base_url=server.base_url, cache_path=tmp_path / "c.db", on_wait=lambda s, w: None)
    with pytest.raises(GitHubError, match="401.*GITHUB_TOKEN"):
        GitHubSource(bad, history.repo)
    good = GitHubAPI(
        token=server.token, base_url=server.base_url, cache_path=tmp_path / "c.db", on_wait=lambda s, w: None
    )
    with pytest.raises(GitHubError, match="not found.*check the name"):
        GitHubSource(good, "acme/nothing-here")
    server.drop(r"/pulls\?", times=20)
    with pytest.raises(GitHubError, match="cannot reach"):
        list(GitHubSource(good, history.repo).candidates())
    server.clear_faults()
    server.fail(r"/pulls\?", 403, body={"message": "Resource protected by organization SAML enforcement."})
    with pytest.raises(GitHubError, match="403.*SAML"):
        list(GitHubSource(good, history.repo).candidates())
