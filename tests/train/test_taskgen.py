"""The minilib task family: bugs found by running both versions, tests derived from them, held-out modules apart."""

from __future__ import annotations

import subprocess
import sys

from swefarm.train import taskgen
from swefarm.train.functions import FUNCTIONS


def test_every_bug_changes_one_line_and_its_failing_call_shows_it():
    bugs = taskgen.all_bugs()
    assert len(bugs) >= 40
    for bug in bugs:
        fixed, buggy = bug.function.source.splitlines(), bug.buggy_source.splitlines()
        changed = [i for i, (a, b) in enumerate(zip(fixed, buggy, strict=True)) if a != b]
        assert len(changed) == 1, bug.instance_id
        args, got, want = bug.failing
        assert taskgen._run(bug.function.source, bug.function.name, args) == want
        assert taskgen._run(bug.buggy_source, bug.function.name, args) == got != want
        assert bug.buggy_source.count(bug.buggy_line.strip()) == 1  # the issue's line names one place


def test_a_bug_that_loops_forever_is_stopped_and_left_out():
    digits = next(f for f in FUNCTIONS if f.module == "digits")
    looping = digits.source.replace("while n > 0:", "while n >= 0:")
    assert taskgen._run(looping, "digit_sum", (0,)) == "never returns"
    assert all(b.buggy_line.strip() != "while n >= 0:" for b in taskgen.find_bugs(digits))


def test_the_issue_quotes_the_call_and_the_line_and_heldout_modules_never_train():
    bug = taskgen.all_bugs()[0]
    text = taskgen.issue_text(bug)
    assert bug.buggy_line.strip() in text and bug.line.strip() in text and bug.path in text
    splits = {taskgen.split_of(b) for b in taskgen.all_bugs()}
    assert splits == {"train", "heldout"}
    for bug in taskgen.all_bugs():
        assert (taskgen.split_of(bug) == "heldout") == (bug.function.module in taskgen.HELDOUT)


def test_the_repository_has_a_branch_per_bug_whose_tests_fail_before_the_fix_and_pass_after(tmp_path):
    bugs = [b for b in taskgen.all_bugs() if b.function.module in ("vowels", "leap")]
    repo, commits = taskgen.make_repo(tmp_path, bugs)
    again, same = taskgen.make_repo(tmp_path, bugs)  # idempotent: the same commits (fixed dates)
    assert same == commits
    bug = bugs[1]
    c = commits[bug.instance_id]
    assert c["env"] != c["base"] and bug.path in c["patch"] and "tests/" in c["test_patch"]
    assert "tests/" not in c["patch"]
    task = taskgen.make_task(bug, c)
    assert task.environment_setup_commit == c["env"] and task.extra["split"] == taskgen.split_of(bug)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    subprocess.run(["git", "checkout", "-q", c["base"]], cwd=work, check=True)
    (work / "t.diff").write_text(c["test_patch"])
    subprocess.run(["git", "apply", "t.diff"], cwd=work, check=True)
    env = {"PYTHONPATH": str(work / "src"), "PYTHONDONTWRITEBYTECODE": "1"}  # no stale .pyc for a same-second fix
    test = f"tests/test_{bug.function.module}.py"
    before = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=work, env=env)
    assert before.returncode == 1  # the regression test fails on the bug, the old tests pass
    (work / "g.diff").write_text(c["patch"])
    subprocess.run(["git", "apply", "g.diff"], cwd=work, check=True)
    after = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=work, env=env)
    assert after.returncode == 0
