"""Miner fidelity on histories made here with real git: where a pull request's branch forked (its base, not the
target's tip at merge time), merges whose message is the PR title with `(#N)`, merge messages that are no
title, and the `--until` day."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from swefarm.cli.main import app
from swefarm.miner.filters import FilterConfig
from swefarm.miner.git_source import GitSource, is_merge_message
from swefarm.miner.models import PullRecord
from swefarm.miner.state import MinerState
from swefarm.miner.taskify import fork_point, make_task
from typer.testing import CliRunner

CODE = "def area(w, h):\n    return w + h\n"
FIXED = "def area(w, h):\n    return w * h\n"
TESTS = "from shapes import area\n\n\ndef test_square():\n    assert area(2, 2) == 4\n"
TESTS_FIXED = TESTS + "\n\ndef test_rectangle():\n    assert area(2, 3) == 6\n"


class Repo:
    """A git repository with fixed identities; each commit at a given time."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self("init", "-q", "--initial-branch=main")

    def __call__(self, *args: str, when: str = "2024-05-01T10:00:00Z") -> str:
        env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@x.invalid",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        done = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, message: str, files: dict[str, str], when: str) -> str:
        for name, text in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)
        self("add", "-A")
        self("commit", "-qm", message, when=when)
        return self("rev-parse", "HEAD")


@pytest.fixture
def forked(tmp_path) -> tuple[Repo, dict[str, str]]:
    """main: base -> docs change -> merge of a branch that forked at `base` and fixed area() with a test.

    The branch also merged main into itself once (`Merge branch 'main' into patch-1`), after its fix.
    """
    repo = Repo(tmp_path / "shapes")
    sha = {"base": repo.commit("shapes", {"shapes.py": CODE, "tests/test_shapes.py": TESTS}, "2024-05-01T10:00:00Z")}
    repo("checkout", "-q", "-b", "patch-1")
    sha["fix"] = repo.commit(
        "Multiply in area()", {"shapes.py": FIXED, "tests/test_shapes.py": TESTS_FIXED}, "2024-05-02T10:00:00Z"
    )
    repo("checkout", "-q", "main")
    sha["later"] = repo.commit("Describe shapes", {"README.md": "shapes\n"}, "2024-05-03T10:00:00Z")
    repo("checkout", "-q", "patch-1")
    repo("merge", "-q", "--no-ff", "-m", "Merge branch 'main' into patch-1", "main", when="2024-05-04T10:00:00Z")
    sha["head"] = repo("rev-parse", "HEAD")
    repo("update-ref", "refs/pull/7/head", sha["head"])
    repo("checkout", "-q", "main")
    sha["unrelated"] = repo.commit("Ignore build", {".gitignore": "build/\n"}, "2024-05-05T10:00:00Z")
    return repo, sha


def merge_pr(repo: Repo, message: str, when: str = "2024-05-06T10:00:00Z") -> str:
    repo("merge", "-q", "--no-ff", "-m", message, "patch-1", when=when)
    return repo("rev-parse", "HEAD")


def squash_pr(repo: Repo, message: str, when: str = "2024-05-06T10:00:00Z") -> str:
    repo("merge", "-q", "--squash", "patch-1")
    repo("commit", "-qm", message, when=when)
    return repo("rev-parse", "HEAD")


def only(repo: Repo, **kwargs) -> PullRecord:
    found = [r for r in GitSource(repo.path, "acme/shapes", **kwargs).candidates() if r.number == 7]
    assert len(found) == 1
    return found[0]


def test_a_merged_branch_starts_where_it_last_met_main_not_at_main_s_tip(forked):
    repo, sha = forked
    merged = merge_pr(repo, "Merge pull request #7 from a/patch-1\n\nMultiply in area()")
    record = only(repo)
    assert record.kind == "merge" and record.base_commit == sha["unrelated"]  # the tip the PR was merged onto
    fork = fork_point(record, repo.path)
    assert (fork.base, fork.head) == (sha["later"], sha["head"])  # the branch synced with main at `later`
    task, _ = make_task(record, repo.path, FilterConfig(require_issue=False, allow_unknown_license=True), "git")
    assert task.base_commit == sha["later"] and task.extra["mined"]["merge_commit"] == merged
    assert ".gitignore" not in task.patch + task.test_patch  # main's own later change is not the PR's
    assert task.extra["mined"]["base_commit_is"] == "the fork point of the pull request's branch"
    check_rebuilds(repo, task, sha["head"])


def test_a_branch_that_never_synced_starts_at_its_fork(tmp_path):
    repo = Repo(tmp_path / "shapes")
    base = repo.commit("shapes", {"shapes.py": CODE, "tests/test_shapes.py": TESTS}, "2024-05-01T10:00:00Z")
    repo("checkout", "-q", "-b", "patch-1")
    repo.commit("Multiply", {"shapes.py": FIXED, "tests/test_shapes.py": TESTS_FIXED}, "2024-05-02T10:00:00Z")
    repo("checkout", "-q", "main")
    later = repo.commit("Describe shapes", {"README.md": "shapes\n"}, "2024-05-03T10:00:00Z")
    merge_pr(repo, "Merge pull request #7 from a/patch-1\n\nMultiply in area()")
    record = only(repo)
    assert record.base_commit == later
    assert fork_point(record, repo.path).base == base


def test_a_merge_titled_with_the_pr_and_its_number_is_a_pull_request(forked):
    """GitHub's merge button set to "pull request title": two parents, subject `Title (#N)`."""
    repo, sha = forked
    merge_pr(repo, "Multiply in area() (#7)\n\nArea was a sum; it is a product.")
    record = only(repo)
    assert record.kind == "merge" and record.title == "Multiply in area()"
    assert record.body == "Area was a sum; it is a product." and record.head_commit == sha["head"]
    assert fork_point(record, repo.path).base == sha["later"]


def test_a_squash_merged_pr_starts_at_its_fork_when_its_pull_ref_is_there(forked):
    repo, sha = forked
    squash_pr(repo, "Multiply in area() (#7)")
    record = only(repo)
    assert record.kind == "squash" and record.head_commit == sha["head"]
    assert fork_point(record, repo.path).base == sha["later"]
    repo("update-ref", "-d", "refs/pull/7/head")  # a plain clone has no pull refs: the squash commit's parent
    record = only(repo)
    assert record.head_commit == "" and fork_point(record, repo.path).base == sha["unrelated"]


def test_a_pull_request_read_from_github_starts_at_the_fork_of_its_head(forked):
    repo, sha = forked
    merged = merge_pr(repo, "Merge pull request #7 from a/patch-1")
    record = PullRecord(
        repo="acme/shapes",
        kind="pull",
        number=7,
        title="Multiply in area()",
        created_at=datetime(2024, 5, 2, tzinfo=UTC),
        merged_at=datetime(2024, 5, 6, tzinfo=UTC),
        merge_commit=merged,
        head_commit=sha["head"],
    )
    fork = fork_point(record, repo.path)
    assert (fork.base, fork.head) == (sha["later"], sha["head"])


def test_a_merge_message_is_never_the_fallback_title(forked):
    repo, _ = forked
    merge_pr(repo, "Merge pull request #7 from a/patch-1")  # GitHub left the title out
    record = only(repo)
    assert record.title == "Multiply in area()"  # not the branch's newest commit, `Merge branch 'main' into ...`


@pytest.mark.parametrize(
    ("subject", "merge"),
    [
        ("Merge branch 'main' into patch-1", True),
        ("Merge pull request #12 from a/b", True),
        ("Merge remote-tracking branch 'origin/main'", True),
        ("Merge 3f2a9c1 into 8b77e0d", True),
        ("Merge main into feature", True),
        ("Merge sort is stable now", False),
        ("Fix merge of overlapping ranges", False),
    ],
)
def test_merge_messages_are_told_from_titles(subject, merge):
    assert is_merge_message(subject) == merge


def test_until_includes_its_whole_day(forked, tmp_path):
    repo, _ = forked
    merge_pr(repo, "Multiply in area() (#7)")  # the branch's first commit: 2024-05-02T10:00Z
    args = ["mine", "git", str(repo.path), "--repo", "acme/shapes", "--no-build", "--license", "MIT"]
    state = tmp_path / "miner.db"
    env = {"SWEFARM_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    for until, found in (("2024-05-01", 0), ("2024-05-02", 1), ("2024-05-02T09:00:00Z", 0)):
        done = runner.invoke(app, [*args, "--until", until, "--state", str(state), "--force"], env=env)
        assert done.exit_code == 0, done.output
        assert f"this run: {found} candidates" in " ".join(done.output.split()), (until, done.output)
    rows = MinerState(state).rows("acme/shapes")
    assert [r.key for r in rows] == ["pr-7"]


def check_rebuilds(repo: Repo, task, head: str) -> None:
    """The gold and test patches applied at the task's base give exactly the branch's head tree."""
    work = repo.path.parent / "work"
    repo("worktree", "add", "-q", "--detach", str(work), task.base_commit)
    for patch in (task.patch, task.test_patch):
        subprocess.run(["git", "apply", "-"], cwd=work, input=patch, text=True, check=True)
    diff = subprocess.run(["git", "diff", "--stat", head], cwd=work, capture_output=True, text=True)
    assert diff.stdout == ""
