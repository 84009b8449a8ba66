"""Mining local git history: candidates, links, tasks and the funnel, on a real fixture repository."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
from fixture_history import make_history
from swefarm.miner.filters import FilterConfig
from swefarm.miner.git_source import GitSource, load_issues
from swefarm.miner.pipeline import MineOptions, Miner
from swefarm.miner.state import MinerState
from swefarm.miner.taskify import base_commit, make_task
from swefarm.tasks.store import TaskStore


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return make_history(tmp_path_factory.mktemp("history"))


def _candidates(history, **kwargs):
    return {r.key: r for r in GitSource(history.path, history.repo, **kwargs).candidates()}


def test_candidates_are_merged_prs_and_plain_commits_with_code_and_tests(history):
    found = _candidates(history)
    pairwise = f"commit-{history.commits['pairwise'][:12]}"
    assert set(found) == {"pr-2", "pr-3", "pr-5", "pr-6", "pr-8", "pr-9", "pr-11", "pr-14", pairwise}
    assert "pr-10" not in found  # closed without merging: its commits never reached main
    assert found["pr-2"].kind == "squash" and found["pr-2"].title == "Fix clamp with reversed bounds"
    assert found["pr-5"].kind == "merge" and found["pr-5"].title == "Fix slugify digits"
    assert found[pairwise].kind == "commit" and found[pairwise].number is None
    for key, record in found.items():
        if record.number is not None:
            assert record.merge_commit == history.pull(record.number)["merge_commit_sha"], key


def test_merge_commits_carry_the_branch_commits_and_the_base_is_the_first_parent(history):
    pr5 = _candidates(history)["pr-5"]
    assert [c.message.splitlines()[0] for c in pr5.commits] == ["handle digits, fixes #4", "wip: slugify"]
    parent = subprocess.run(
        ["git", "rev-parse", f"{pr5.merge_commit}^1"], cwd=history.path, capture_output=True, text=True
    ).stdout.strip()
    assert base_commit(pr5, history.path) == parent
    assert pr5.first_commit_at < pr5.merged_at


def test_links_come_from_messages_only_for_this_repository(history):
    found = _candidates(history)
    assert found["pr-2"].linked_issues == [1]  # "Fixes #1." in the squash message; "closes #99" sits in a comment
    assert found["pr-5"].linked_issues == [4]  # only a branch commit says "fixes #4"
    assert found["pr-8"].linked_issues == []  # "#7 is related": no closing keyword
    assert found["pr-11"].linked_issues == []  # "fixes other/lib#3" is another repository's issue
    assert found[f"commit-{history.commits['pairwise'][:12]}"].linked_issues == [12]


def test_window_and_max_pick_the_newest_first(history):
    newest_two = list(GitSource(history.path, history.repo, max_candidates=2).candidates())
    everything = list(GitSource(history.path, history.repo).candidates())
    assert [r.key for r in newest_two] == [r.key for r in everything[:2]]
    assert everything == sorted(everything, key=lambda r: r.merged_at, reverse=True)
    cut = datetime(2024, 2, 1, tzinfo=UTC)
    early = _candidates(history, until=cut)
    late = _candidates(history, since=cut)
    assert early and late and not set(early) & set(late)
    assert set(early) | set(late) == set(everything_keys := {r.key for r in everything}) and everything_keys
    assert all(r.created_at <= cut for r in early.values()) and all(r.created_at >= cut for r in late.values())


def test_a_task_from_git_applies_and_keeps_tests_apart(history, tmp_path):
    record = _candidates(history)["pr-14"]
    task, rejections = make_task(record, history.path, FilterConfig(), "git")
    assert rejections == [] and task is not None
    assert task.instance_id == "acme__widgets-14" and task.base_commit == base_commit(record, history.path)
    assert task.test_files() == ["tests/test_widgets.py"]
    assert "tests/" not in task.patch and "src/widgets/__init__.py" in task.patch
    assert task.problem_statement.startswith("Fix chunk remainder")  # offline: the change's own message
    assert task.extra["mined"]["problem_statement_source"] == "commit message"
    work = tmp_path / "work"
    subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(work), task.base_commit], cwd=history.path, check=True
    )
    for patch in (task.patch, task.test_patch):
        subprocess.run(["git", "apply", "-"], cwd=work, input=patch, text=True, check=True)
    changed = subprocess.run(["git", "diff", "--stat", record.merge_commit], cwd=work, capture_output=True, text=True)
    assert changed.stdout == ""  # gold + tests rebuild exactly the merged tree


def test_an_issues_file_gives_real_problem_statements_and_hints(history, tmp_path):
    issue = history.issue(1)
    raw = {
        "number": 1,
        "title": issue["title"],
        "body": issue["body"],
        "html_url": "https://github.com/acme/widgets/issues/1",
        "created_at": issue["created_at"],
        "comments": [
            {"user": {"login": c["user"]}, "created_at": c["created_at"], "body": c["body"]} for c in issue["comments"]
        ],
    }
    path = tmp_path / "issues.jsonl"
    path.write_text(json.dumps(raw) + "\n")
    source = GitSource(history.path, history.repo, issues_file=path)
    record = source.complete(next(r for r in source.candidates() if r.key == "pr-2"))
    task, _ = make_task(record, history.path, FilterConfig(), "git")
    assert task.problem_statement.startswith(issue["title"])
    assert issue["body"].strip()[:40] in task.problem_statement
    # a squash commit's date is the merge's: when work began is unknown, so no comment is safe as a hint
    assert task.hints_text == ""


def test_a_bad_issues_file_names_the_line(tmp_path):
    path = tmp_path / "issues.jsonl"
    path.write_text('{"number": 1, "title": "x"}\n{"title": "no number"}\n')
    with pytest.raises(ValueError, match="issues.jsonl:2"):
        load_issues(path)


def test_mining_without_builds_records_the_funnel_and_is_idempotent(history, tmp_path):
    store = TaskStore(tmp_path / "tasks.db")
    state = MinerState(tmp_path / "miner.db")
    filters = FilterConfig(require_issue=True)

    def mine():
        source = GitSource(history.path, history.repo, license="MIT")
        options = MineOptions(build=False)
        return Miner(source, lambda: history.path, store, state, filters, options, log=lambda _: None).run()

    first = mine()
    rows = {r.key: r for r in state.rows(history.repo)}
    pairwise = f"commit-{history.commits['pairwise'][:12]}"
    codes = {key: row.code for key, row in rows.items()}
    assert codes == {
        "pr-2": None,
        "pr-3": "no_linked_issue",  # "Closes #1" is in the PR body, which git does not keep
        "pr-5": None,
        "pr-6": "no_test_change",
        "pr-8": "no_linked_issue",  # linked only on GitHub
        "pr-9": "binary_files",
        "pr-11": "no_linked_issue",
        "pr-14": None,
        pairwise: None,
    }
    assert {t.instance_id for t in store.list()} == {
        "acme__widgets-2",
        "acme__widgets-5",
        "acme__widgets-14",
        f"acme__widgets-{history.commits['pairwise'][:10]}",
    }
    assert first.candidates == 9 and first.tasks == 4 and first.known == 0
    # one release: every task shares the environment of the newest base commit
    assert len({t.environment_setup_commit for t in store.list()}) == 1

    again = mine()
    assert again.known == 5 and again.tasks == 0  # the rejected are known; the four tasks wait for a build
    assert len(store.list()) == 4
    funnel = state.funnel(history.repo)
    assert [s.reached for s in funnel.stages][:3] == [9, 6, 4]
    assert funnel.stages[1].rejected == {"no_linked_issue": 3}
    assert funnel.stages[2].rejected == {"binary_files": 1, "no_test_change": 1}


def test_a_merge_without_the_pr_title_takes_it_from_the_branch(history, tmp_path):
    repo = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(history.path), str(repo)], check=True)

    def git(*args):
        ident = ["-c", "user.name=t", "-c", "user.email=t@x.invalid"]
        subprocess.run(["git", *ident, *args], cwd=repo, check=True, capture_output=True)

    git("checkout", "-q", "-b", "dev/x")
    (repo / "src/widgets/extra.py").write_text("X = 1\n")
    git("add", "-A")
    git("commit", "-qm", "Handle the X case\n\nBecause X matters.")
    git("checkout", "-q", "main")
    git("merge", "-q", "--no-ff", "-m", "Merge pull request #99 from dev/x", "dev/x")
    record = next(r for r in GitSource(repo, history.repo).candidates() if r.number == 99)
    assert record.kind == "merge" and record.title == "Handle the X case" and record.body == "Because X matters."


def test_a_javascript_change_mines_into_a_javascript_task(tmp_path):
    from swefarm.tasks import demo_js

    repo, commits = demo_js.make_repo(tmp_path)
    (record,) = GitSource(repo, demo_js.REPO).candidates()
    task, rejections = make_task(record, repo, FilterConfig(language="javascript", require_issue=False), "git")
    assert rejections == [] and task is not None and task.language == "javascript"
    assert task.test_files() == ["test/slugify.test.js"] and task.patch == commits["patch"]
    _, rejected = make_task(record, repo, FilterConfig(require_issue=False), "git")  # a Python miner's filters
    assert [r.code for r in rejected] == ["other_language_code"]


def test_swefarm_mine_git_lang_js_stores_javascript_tasks(tmp_path):
    from swefarm.cli.main import app
    from swefarm.tasks import demo_js
    from typer.testing import CliRunner

    repo, _ = demo_js.make_repo(tmp_path)
    args = ["mine", "git", str(repo), "--repo", demo_js.REPO, "--no-build", "--no-require-issue",
            "--allow-unknown-license"]  # fmt: skip
    env = {"SWEFARM_HOME": str(tmp_path / "home")}
    python = CliRunner().invoke(app, args, env=env)
    assert python.exit_code == 0, python.output
    assert TaskStore(tmp_path / "home" / "tasks.db").count() == 0  # a Python miner drops the JS change
    done = CliRunner().invoke(app, [*args, "--lang", "js", "--force"], env=env)
    assert done.exit_code == 0, done.output
    (task,) = TaskStore(tmp_path / "home" / "tasks.db").iter()
    assert task.language == "javascript" and task.test_files() == ["test/slugify.test.js"]
    bad = CliRunner().invoke(app, [*args, "--lang", "cobol"], env=env)
    assert bad.exit_code == 2 and "--lang wants python or javascript" in bad.output
