"""The statement quality verdict: heuristics, a judge (scripted, and the real small model through a policy
backend), and what mining, `mine report` and `tasks list --quality` make of it."""

from __future__ import annotations

import json

import pytest
from fixture_history import make_history
from swefarm.cli.main import app
from swefarm.miner.filters import FilterConfig
from swefarm.miner.git_source import GitSource
from swefarm.miner.pipeline import MineOptions, Miner
from swefarm.miner.quality import LEAKS_FIX, NOT_A_STATEMENT, THIN, assess, judge_statement
from swefarm.miner.state import MinerState
from swefarm.tasks.models import Task
from swefarm.tasks.store import TaskStore
from typer.testing import CliRunner

PATCH = """diff --git a/src/shapes.py b/src/shapes.py
--- a/src/shapes.py
+++ b/src/shapes.py
@@ -1,5 +1,9 @@ import math
 def area(width, height):
-    return width + height
+    return _checked(width) * _checked(height)
+
+
+def _checked(length):
+    if length < 0:
+        raise ValueError("a length cannot be negative")
+    return length
"""
ISSUE = """area() adds instead of multiplying

Calling `area(2, 3)` returns 5 but a 2 by 3 rectangle covers 6 square units. Negative lengths are
accepted silently too, which hides mistakes in the callers. I would expect an error there.
"""


def make(statement: str, source: str = "issue", patch: str = PATCH) -> Task:
    return Task(
        instance_id="acme__shapes-7",
        repo="acme/shapes",
        base_commit="b",
        patch=patch,
        test_patch="",
        problem_statement=statement,
        extra={"mined": {"problem_statement_source": source}},
    )


def test_an_issue_that_describes_the_problem_is_ok():
    verdict = assess(make(ISSUE))
    assert verdict.ok and verdict.flags == [] and verdict.notes == []


def test_a_one_line_title_is_thin():
    verdict = assess(make("Fix area computation\n", "commit message"))
    assert verdict.flags == [THIN] and verdict.notes == ["thin: 3 words on 1 line(s)"]


@pytest.mark.parametrize(
    "statement",
    [
        "Merge branch 'main' into patch-1",
        "Merge pull request #7 from a/b",
        'Revert "Fix area"',
        "Bump version to 2.0",
        "Release 2.0.1",
    ],
)
def test_merge_messages_reverts_and_bumps_are_not_statements(statement):
    assert assess(make(statement, "commit message")).flags == [NOT_A_STATEMENT, THIN]


@pytest.mark.parametrize("title", ["Release the lock when a worker dies", "Merge sort keeps equal keys in order"])
def test_titles_that_only_start_like_a_merge_or_release_are_statements(title):
    assert NOT_A_STATEMENT not in assess(make(title + "\n\n" + ISSUE, "commit message")).flags


def test_a_statement_holding_the_fix_s_code_leaks_it():
    quoted = ISSUE + '\nSomething like `raise ValueError("a length cannot be negative")` would do.\n'
    verdict = assess(make(quoted))
    assert verdict.flags == [LEAKS_FIX]
    assert "a line the fix adds" in verdict.notes[0]
    with_diff = ISSUE + "\n```diff\n@@ -1,2 +1,2 @@\n-    return width + height\n+    return width * height\n```\n"
    assert assess(make(with_diff)).flags == [LEAKS_FIX]


def test_a_commit_message_naming_what_the_fix_defines_leaks_it():
    message = ISSUE + "\nThis adds a _checked helper that every dimension goes through.\n"
    assert assess(make(message, "commit message")).flags == [LEAKS_FIX]
    assert assess(make(message, "issue")).flags == []  # an issue may ask for the API it wants


def test_a_commit_message_saying_what_it_replaced_with_what_leaks_it():
    patch = PATCH.replace("_checked(width) * _checked(height)", "math_prod(width, height)").replace(
        "-    return width + height", "-    return sum_lengths(width, height)"
    )
    message = ISSUE + "\nReplace sum_lengths with math_prod in area.\n"
    verdict = assess(make(message, "commit message", patch))
    assert LEAKS_FIX in verdict.flags and "sum_lengths -> math_prod" in verdict.notes[-1]


class ScriptedJudge:
    """A judge that answers what it was told to (and records the prompt)."""

    name = "scripted"

    def __init__(self, answer: str):
        self.answer, self.prompts = answer, []

    def complete(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def test_a_judge_adds_its_flags_and_its_answer_is_kept():
    judge = ScriptedJudge("THIN: no\nLEAKS_FIX: yes\nWHY: it names the helper.")
    verdict = judge_statement(make(ISSUE), judge)
    assert verdict.flags == [LEAKS_FIX] and verdict.judge == "scripted"
    assert verdict.judge_answer.startswith("THIN: no") and "judge scripted: leaks_fix" in verdict.notes
    assert ISSUE.strip() in judge.prompts[0] and "_checked(length)" in judge.prompts[0]


def test_a_judge_answer_without_yes_or_no_adds_nothing_and_says_so():
    verdict = judge_statement(make(ISSUE), ScriptedJudge("I think this task is great!"))
    assert verdict.flags == []
    assert verdict.notes == ["judge scripted: no yes/no for THIN", "judge scripted: no yes/no for LEAKS_FIX"]


@pytest.mark.slow
def test_the_real_small_model_judges_through_a_policy_backend():
    from swefarm.cli.mine_judge import PolicyJudge

    judge = PolicyJudge("transformers")
    try:
        verdict = judge_statement(make("Fix area\n", "commit message"), judge)
    finally:
        judge.close()
    assert verdict.judge.startswith("transformers:") and verdict.judge_answer.strip()
    assert THIN in verdict.flags  # the heuristics' flag stays, whatever the model says
    assert set(verdict.flags) <= {THIN, LEAKS_FIX}


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    """The fixture history mined offline (no builds) into a fresh home."""
    root = tmp_path_factory.mktemp("quality")
    history = make_history(root / "src")
    home = root / "home"
    store, state = TaskStore(home / "tasks.db"), MinerState(home / "miner.db")
    source = GitSource(history.path, history.repo, license="MIT")
    options = MineOptions(build=False)
    judge = ScriptedJudge("THIN: no\nLEAKS_FIX: no\nWHY: fine")
    Miner(source, lambda: history.path, store, state, FilterConfig(), options, log=lambda _: None, judge=judge).run()
    state.close()
    return home, store


def test_mining_records_a_verdict_on_every_task_and_the_funnel_counts_them(mined):
    home, store = mined
    tasks = store.list()
    assert tasks and all(t.quality is not None and t.quality.judge == "scripted" for t in tasks)
    funnel = MinerState(home / "miner.db").funnel("acme/widgets")
    assert funnel.quality["tasks"] == len(tasks)
    assert funnel.quality["ok"] + funnel.quality.get(THIN, 0) >= len(tasks)
    assert funnel.quality.get(THIN, 0) == sum(THIN in t.quality.flags for t in tasks) > 0


def test_mine_report_and_tasks_list_show_and_filter_the_verdict(mined):
    home, store = mined
    runner = CliRunner()
    env = {"SWEFARM_HOME": str(home), "COLUMNS": "250"}
    report = runner.invoke(app, ["mine", "report", "--repo", "acme/widgets", "--json"], env=env)
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["quality"]["tasks"] == len(store.list())
    page = home / "funnel.html"
    table = runner.invoke(app, ["mine", "report", "--repo", "acme/widgets", "--html", str(page)], env=env)
    assert "statement quality of" in table.output
    assert "<h2>Problem statements</h2>" in page.read_text() and "<code>thin</code>" in page.read_text()
    thin = {t.instance_id for t in store.list() if THIN in t.quality.flags}
    listed = runner.invoke(app, ["tasks", "list", "--quality", "thin"], env=env)
    assert listed.exit_code == 0 and f"{len(thin)} of {len(thin)} matching" in listed.output
    assert all(iid in listed.output for iid in thin)
    ok = runner.invoke(app, ["tasks", "list", "--quality", "ok"], env=env)
    assert not any(iid in ok.output for iid in thin)
    bad = runner.invoke(app, ["tasks", "list", "--quality", "great"], env=env)
    assert bad.exit_code == 1 and "unknown quality" in bad.output
    shown = runner.invoke(app, ["tasks", "show", sorted(thin)[0]], env=env)
    assert "statement quality" in shown.output and "thin (thin:" in shown.output


def test_a_judge_must_be_a_model_backend(tmp_path):
    history = make_history(tmp_path / "src")
    args = ["mine", "git", str(history.path), "--repo", "acme/widgets", "--no-build", "--judge", "oracle"]
    done = CliRunner().invoke(app, args, env={"SWEFARM_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    assert done.exit_code == 2 and "a judge needs a model backend" in done.output
