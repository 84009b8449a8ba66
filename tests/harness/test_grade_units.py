"""Grading's parts without Docker: the drop policy, canaries, the suspicious scan, the verdict, and pinned git
(harness/ingit.py run for real against real git repositories on this machine)."""

from __future__ import annotations

import base64
import json
import marshal
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from swefarm.harness import attempt, canaries, protect
from swefarm.harness.failures import AgentFailure, GradeFailure
from swefarm.harness.grade import GradeReport
from swefarm.harness.hostile import ATTACKS, Target, shell
from swefarm.harness.incontainer import INGIT_SOURCE
from swefarm.harness.results import TestRun, TestStatus
from swefarm.harness.suspicious import scan
from swefarm.harness.testrun import patch_paths
from swefarm.tasks.models import Task

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x.invalid"}  # fmt: skip
TESTS = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"


# -- pinned git: what changed comes from trees, whatever the diff or the workspace say ---------------------------


def git(cwd: Path, *args: str, check: bool = True) -> str:
    env = {**os.environ, **IDENTITY}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=check, capture_output=True, text=True).stdout


@pytest.fixture
def repos(tmp_path):
    """A pristine repository (what the task image keeps) and a workspace copied from it (the agent's)."""
    pristine = tmp_path / "pristine"
    (pristine / "src/calc").mkdir(parents=True)
    (pristine / "tests").mkdir()
    (pristine / "src/calc/__init__.py").write_text(
        "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
    )
    (pristine / "tests/test_calc.py").write_text(TESTS)
    git(pristine, "init", "-q")
    git(pristine, "add", "-A")
    git(pristine, "commit", "-qm", "base")
    (pristine / ".git/info/exclude").write_text("/build-artefact.txt\n")
    (pristine / "build-artefact.txt").write_text("made by the install\n")
    work = tmp_path / "work"
    shutil.copytree(pristine, work, symlinks=True)
    return pristine, work


def ingit(op: str, **args) -> dict:
    request = base64.b64encode(marshal.dumps(args, 4)).decode()
    out = subprocess.run(
        ["python3", "-I", "-S", "-c", INGIT_SOURCE, op, request],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"},
        check=True,
    ).stdout
    return json.loads(out)


def extract(pristine: Path, work: Path, max_bytes: int = 1 << 20) -> dict:
    return ingit("extract", work=str(work), pristine=str(pristine / ".git"), max_bytes=max_bytes)


def prepare(work: Path, pristine: Path, diff: str, test_patch: str = "", **context) -> dict:
    """harness/ingit.py's prepare in `work` (a copy of the pristine repository, as in a grading container)."""
    ctx = {"target_files": [], "fix_dirs": ["src/calc"], "modules": ["pluggy", "json"], "roots": ["", "src"], **context}
    return ingit(
        "prepare",
        work=str(work),
        pristine=str(pristine / ".git"),
        agent_patch=diff.encode(),
        test_patch=test_patch.encode(),
        test_paths=patch_paths(test_patch),
        policy=attempt.POLICY_SOURCE,
        context=ctx,
    )


CONFTEST_DIFF = "--- /dev/null\n+++ b/conftest.py\n@@ -0,0 +1 @@\n+import evil\n"
TEST_EDIT = (
    "--- a/tests/test_calc.py\n+++ b/tests/test_calc.py\n@@ -4,2 +4,2 @@\n def test_mul():\n"
    "-    assert mul(2, 3) == 6\n+    assert True\n"
)
HEADER_LIES = {
    "a plain unified diff": TEST_EDIT,
    "quoted names": 'diff --git "a/tests/test_calc.py" "b/tests/test_calc.py"\n'
    + TEST_EDIT.replace("--- a/tests/test_calc.py", '--- "a/tests/test_calc.py"').replace(
        "+++ b/tests/test_calc.py", '+++ "b/tests/test_calc.py"'
    ),
    "a header naming another file": "diff --git a/src/calc/__init__.py b/src/calc/__init__.py\n" + TEST_EDIT,
    "diff  --git with two spaces": "diff  --git a/tests/test_calc.py b/tests/test_calc.py\n" + TEST_EDIT,
}


@pytest.mark.parametrize("lie", list(HEADER_LIES))
def test_changed_paths_are_what_git_applied_never_what_headers_say(repos, lie):
    pristine, work = repos
    found = prepare(work, pristine, HEADER_LIES[lie])
    assert found["ok"] and found["applied"], found
    assert [(e["status"], e["path"]) for e in found["entries"]] == [("M", "tests/test_calc.py")]
    assert found["dropped"] == {"tests/test_calc.py": "test_dir"} and "assert True" in found["added_text"]
    assert (work / "tests/test_calc.py").read_text() == TESTS  # put back


def test_an_empty_patch_changes_nothing_and_a_broken_one_is_refused(repos):
    pristine, work = repos
    empty = prepare(work, pristine, "")
    assert empty["entries"] == [] and empty["dropped"] == {} and empty["added_text"] == ""
    refused = prepare(work, pristine, "--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n")
    assert refused["ok"] and refused["applied"] is False and "nope.py" in refused["message"]


def test_the_test_patch_paths_and_symlinks_come_from_git(repos):
    pristine, work = repos
    link = "diff --git a/src/calc/out b/src/calc/out\nnew file mode 120000\n--- /dev/null\n+++ b/src/calc/out\n"
    link += "@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n"
    new_test = CONFTEST_DIFF.replace("conftest.py", "tests/test_new.py")
    found = prepare(work, pristine, link + CONFTEST_DIFF.replace("conftest.py", "json.py"), test_patch=new_test)
    assert found["test_paths"] == ["tests/test_new.py"]
    assert found["dropped"] == {"src/calc/out": "special", "json.py": "shadowing"}
    assert base64.b64decode(found["files"]["tests/test_new.py"]) == b"import evil\n"  # for the canaries
    assert not (work / "src/calc/out").exists() and not (work / "json.py").exists()


def test_extraction_reads_the_tree_whatever_the_workspace_git_says(repos, tmp_path):
    pristine, work = repos
    (work / "src/calc/__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (work / "conftest.py").write_text("import evil\n")
    (work / ".gitattributes").write_text("* filter=hide diff=hide working-tree-encoding=UTF-16\n")
    git(work, "config", "filter.hide.clean", "cat /dev/null")
    git(work, "config", "diff.external", "/bin/false")
    git(work, "config", "diff.mnemonicPrefix", "true")
    git(work, "config", "diff.noprefix", "true")
    os.mkfifo(work / "fifo")
    (work / "src/calc/__pycache__").mkdir()
    (work / "src/calc/__pycache__/__init__.cpython-311.pyc").write_bytes(b"\x00bytecode")
    out = extract(pristine, work)
    assert out["ok"], out
    diff = base64.b64decode(out["diff"]).decode()
    assert "diff --git a/conftest.py b/conftest.py" in diff and "+import evil" in diff
    assert "+    return a + b" in diff  # no clean filter, no textconv, no external diff, a/ b/ prefixes
    assert "__pycache__" not in diff and "fifo" not in diff and "build-artefact" not in diff
    assert not (work / "fifo").exists()  # removed: git would block reading it
    shutil.rmtree(work / ".git")
    again = base64.b64decode(extract(pristine, work)["diff"]).decode()
    assert "+    return a + b" in again  # the workspace's .git is not needed at all


def test_extraction_ignores_linked_ignore_and_attribute_files_and_the_agents_index(repos):
    pristine, work = repos
    (work / ".gitignore").symlink_to("/dev/zero")  # an older git would read it forever
    (work / "tests/.gitattributes").symlink_to("/dev/zero")
    (work / "conftest.py").write_text("import evil\n")
    git(work, "add", "-f", "conftest.py")
    (work / "conftest.py").unlink()  # staged in the agent's index, gone from the tree
    (work / "notes.txt").write_text("kept\n")
    (work / ".git/info/exclude").write_text("/notes.txt\n")  # the agent's own excludes only hide its own files
    out = extract(pristine, work)
    diff = base64.b64decode(out["diff"]).decode()
    assert out["ok"] and "conftest" not in diff and "notes.txt" not in diff and ".gitignore" not in diff


def test_extraction_refuses_a_change_over_the_size_limit_before_reading_it(repos):
    pristine, work = repos
    with open(work / "big.bin", "wb") as fh:
        fh.truncate(5 << 30)  # sparse: 5 GiB that takes no room
    out = extract(pristine, work, max_bytes=1 << 20)
    assert out == {"ok": False, "code": "patch_too_large", "detail": out["detail"]} and "5368709120" in out["detail"]


def test_extraction_of_a_missing_workspace_is_the_agents_failure(repos):
    pristine, work = repos
    shutil.rmtree(work)
    assert extract(pristine, work)["code"] == "workspace_broken"


def test_prepare_checks_out_exactly_the_kept_change_and_the_test_patch(repos):
    pristine, work = repos
    agent = "--- a/src/calc/__init__.py\n+++ b/src/calc/__init__.py\n@@ -1,3 +1,3 @@\n def add(a, b):\n"
    agent += "-    return a - b\n+    return a + b\n \n" + CONFTEST_DIFF
    test_patch = TEST_EDIT.replace("assert True", "assert mul(3, 3) == 9")
    before = set(Path("/tmp").glob("swefarm-git-*"))
    done = prepare(work, pristine, agent, test_patch)
    assert done["ok"] and done["dropped"] == {"conftest.py": "config"}, done
    assert not (work / "conftest.py").exists()
    assert "a + b" in (work / "src/calc/__init__.py").read_text()
    assert "mul(3, 3) == 9" in (work / "tests/test_calc.py").read_text()
    assert (work / "build-artefact.txt").exists()  # untracked files of the image are kept
    assert set(Path("/tmp").glob("swefarm-git-*")) <= before  # its own git directory is gone


def test_the_helper_and_its_policy_import_nothing_slow_in_the_container(repos):
    """Every grading starts harness/ingit.py with harness/protect.py in the task container: a module like
    `dataclasses` (which pulls `inspect`, `re`, `ast`...) cost more than all of the policy's own work."""
    pristine, work = repos
    probe = INGIT_SOURCE.replace(
        "    sys.stdout.write(dumps(result))",
        "    result['modules'] = sorted(sys.modules)\n    sys.stdout.write(dumps(result))",
    )
    request = base64.b64encode(
        marshal.dumps(
            {
                "work": str(work),
                "pristine": str(pristine / ".git"),
                "agent_patch": CONFTEST_DIFF.encode(),
                "test_patch": b"",
                "test_paths": [],
                "policy": attempt.POLICY_SOURCE,
                "context": {"target_files": [], "fix_dirs": [], "modules": [], "roots": [""]},
            },
            4,
        )  # fmt: skip
    ).decode()
    run = subprocess.run(["python3", "-I", "-S", "-c", probe, "prepare", request], capture_output=True, text=True)
    done = json.loads(run.stdout)
    assert done["ok"] and done["dropped"] == {"conftest.py": "config"}, done
    slow = {"dataclasses", "inspect", "typing", "re", "ast", "enum", "json", "subprocess", "pathlib"}
    assert slow.isdisjoint(done["modules"]), sorted(slow & set(done["modules"]))


class HostSandbox:
    """Commands in bash on this machine, as a Docker sandbox of image `image` would run them."""

    def __init__(self, image: str):
        self.container = type("Container", (), {"attrs": {"Image": image}})()
        self.commands: list[str] = []

    def run_stateless(self, cmd, timeout=None, max_output=None, **kwargs):
        from swefarm.sandbox.models import CommandResult

        self.commands.append(cmd)
        out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=timeout)
        return CommandResult(exit_code=out.returncode, output=out.stdout + out.stderr, duration=0.0)


def test_the_helper_runs_compiled_by_the_images_python_once_compiled_in_a_fresh_sandbox(repos, tmp_path):
    """Compiling the helper and its policy took a third of its time at every grading: the image's own Python
    compiles them once, in a sandbox no agent ran in, and later runs load the code objects; answers are
    the same either way, and a sandbox that is not fresh never fills the cache (an agent could plant it)."""
    from swefarm.harness import incontainer

    pristine, work = repos
    copies = [tmp_path / f"work{i}" for i in range(3)]
    for copy in copies:
        shutil.copytree(work, copy, symlinks=True)
    agent = "--- a/src/calc/__init__.py\n+++ b/src/calc/__init__.py\n@@ -1,3 +1,3 @@\n def add(a, b):\n"
    agent += "-    return a - b\n+    return a + b\n \n" + CONFTEST_DIFF

    def request(copy):
        context = {"target_files": [], "fix_dirs": ["src/calc"], "modules": [], "roots": ["", "src"]}
        patches = {"agent_patch": agent.encode(), "test_patch": b"", "test_paths": []}
        return {"work": str(copy), "pristine": str(pristine / ".git"), **patches, "context": context,
                "policy": incontainer.POLICY_SOURCE}  # fmt: skip

    image = f"sha256:test-{os.getpid()}-{random.random()}"
    used = HostSandbox(image)  # not fresh: runs from source, caches nothing
    from_source = incontainer.ingit(used, "prepare", request(copies[0]))
    assert image not in incontainer._compiled and incontainer.INGIT_SOURCE[:40] in used.commands[-1]
    fresh = HostSandbox(image)
    compiled = incontainer.ingit(fresh, "prepare", request(copies[1]), compile_here=True)
    assert image in incontainer._compiled and incontainer.LOADER in fresh.commands[-1]
    later = HostSandbox(image)
    again = incontainer.ingit(later, "prepare", request(copies[2]))
    assert len(later.commands) == 1 and incontainer.LOADER in later.commands[0]
    assert incontainer.INGIT_SOURCE[:40] not in later.commands[0]
    for answer in (compiled, again):
        assert answer["dropped"] == from_source["dropped"] == {"conftest.py": "config"}
        assert answer["entries"] == from_source["entries"] and answer["tree"] == from_source["tree"]
    assert "a + b" in (copies[2] / "src/calc/__init__.py").read_text()


# -- the drop policy --------------------------------------------------------------------------------------------


CTX = protect.Context(
    test_paths={"tests/test_calc.py"},
    target_files={"tests/test_calc.py", "src/calc/test_inline.py"},
    fix_dirs={"src", "src/calc", "django/test"},
    modules=frozenset({"pluggy", "pytest", "_pytest", "json", "unittest", "calc"}),
    roots=("", "src"),
    base_names={"": {"src", "tests", "setup.py"}, "src": {"calc"}},
    symlink_targets={"src/calc/out": "/etc/passwd", "src/calc/near": "../calc/__init__.py"},
)


@pytest.mark.parametrize(
    ("path", "mode", "reason"),
    [
        ("src/calc/__init__.py", "100644", None),
        ("docs/index.rst", "100644", None),
        ("tests/test_calc.py", "100644", "test_file"),
        ("src/calc/test_inline.py", "100644", "test_file"),
        ("tests/__init__.py", "100644", "test_dir"),
        ("tests/helpers/lenient.py", "100644", "test_dir"),
        ("pkg/testing/util.py", "100644", "test_dir"),
        ("django/test/utils.py", "100644", None),  # the fix itself changes that directory
        ("conftest.py", "100644", "config"),
        ("src/calc/deep/conftest.py", "100644", "config"),
        ("tests/pytest.ini", "100644", "test_dir"),
        ("sub/pytest.ini", "100644", "config"),
        ("a/b/tox.ini", "100644", "config"),
        ("setup.cfg", "100644", "config"),
        ("pkg/pyproject.toml", "100644", "config"),
        ("src/sitecustomize.py", "100644", "startup"),
        ("lib/evil.pth", "100644", "startup"),
        ("src/calc/__pycache__/__init__.cpython-311.pyc", "100644", "compiled"),
        ("src/calc/fast.cpython-311-x86_64-linux-gnu.so", "100644", "compiled"),
        ("fast_tests-1.0.dist-info/entry_points.txt", "100644", "metadata"),
        ("src/Fast.DIST-INFO/entry_points.txt", "100644", "metadata"),
        ("src/calc.egg-info/entry_points.txt", "100644", "metadata"),
        ("pluggy/__init__.py", "100644", "shadowing"),
        ("src/pytest.py", "100644", "shadowing"),
        ("json.py", "100644", "shadowing"),
        ("unittest/__main__.py", "100644", "shadowing"),
        ("src/calc/json.py", "100644", None),  # calc.json shadows nothing
        ("vendor", "160000", "special"),
        ("src/calc/out", "120000", "special"),
        ("src/calc/near", "120000", None),
    ],
)
def test_drop_policy(path, mode, reason):
    assert protect.drop_reason({"status": "A", "old_mode": "000000", "new_mode": mode, "path": path}, CTX) == reason


def test_the_repositorys_own_modules_are_not_shadowing():
    entry = {"status": "M", "old_mode": "100644", "new_mode": "100644", "path": "src/calc/__init__.py"}
    ctx = protect.Context(modules=frozenset({"calc"}), roots=("", "src"), base_names={"src": {"calc"}})
    assert protect.drop_reason(entry, ctx) is None
    assert protect.drop_reason({**entry, "status": "D", "path": "json.py"}, CTX) is None  # deleting shadows nothing


def test_target_files_come_from_the_ids_of_each_runner():
    assert protect.module_files("pytest", ["tests/t.py::T::test_a[x]", "a/b.py::test_b"], []) == {
        "tests/t.py",
        "a/b.py",
    }
    ids = ["test_a (tests.test_unit.CalcTests)", "test_b (other.Mod)"]
    assert protect.module_files("unittest", ids, ["tests/test_unit.py", "tests/x.py"]) == {"tests/test_unit.py"}
    django = protect.module_files("django", ["test_x (app.tests.FooTests)"], ["tests/app/tests.py", "docs/x.py"])
    assert django == {"tests/app/tests.py"}


# -- canaries ---------------------------------------------------------------------------------------------------

SOURCE = (
    '"""A test module."""\nfrom __future__ import annotations\n\nimport pytest\n\n\n@pytest.mark.slow\n\n'
    "def test_add_one():\n    x = [\n\n    ]\n\n\ndef test_add_two():\n    '''\n\n    '''\n"
)


@pytest.mark.parametrize("runner", ["pytest", "unittest", "django", "sympy"])
def test_canaries_take_blank_top_level_lines_and_move_no_other_line(runner):
    planted, changed = canaries.plant(runner, {"t/test_a.py": SOURCE.encode()}, {"t/test_a.py": "t.test_a"},
                                      ["t/test_a.py::test_add_one"], random.Random(1))  # fmt: skip
    new = changed["t/test_a.py"].decode()
    old_lines, new_lines = SOURCE.splitlines(), new.splitlines()
    moved = [i for i, line in enumerate(old_lines) if line.strip() and new_lines[i] != line]
    assert moved == []  # every non-blank line is where it was
    compile(new, "t/test_a.py", "exec")
    kinds = {c.kind for c in planted}
    assert kinds == set(canaries.kinds_for(runner)) and len(planted) == len(canaries.kinds_for(runner))
    forbidden = {7, 8, 9, 10, 11, 12, 16, 17, 18}  # the decorator, the list and the docstring keep their lines
    changed_lines = {i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=False)) if a != b}
    assert not changed_lines & forbidden and min(changed_lines) > 2  # after the docstring and the __future__ import
    for canary in planted:
        name = canary.id.split("::")[-1].split(" ")[0]
        assert name.startswith("test_") and name in new
    assert len({c.id for c in planted}) == len(planted)


def test_canaries_go_at_the_end_of_a_file_with_no_free_line_and_keep_its_encoding():
    source = "# -*- coding: latin-1 -*-\nx = 'caf\xe9'\ndef test_x(): pass".encode("latin-1")
    planted, changed = canaries.plant("pytest", {"t.py": source}, {}, [], random.Random(2))
    new = changed["t.py"]
    assert new.startswith(source + b"\n\n") and "caf\xe9".encode("latin-1") in new
    assert new.decode("latin-1").count("\n") == 4 + len(planted)  # the last line ended, a blank, the canaries


def test_canary_names_are_unpredictable_and_look_like_their_neighbours():
    names = set()
    for seed in range(20):
        planted, _ = canaries.plant(
            "pytest", {"t.py": SOURCE.encode()}, {}, ["t.py::test_add_one"], random.Random(seed)
        )
        names |= {c.id for c in planted}
    assert len(names) > 25
    assert all(n.startswith("t.py::test_add_") for n in names)  # the targets' own prefix


def test_canaries_never_take_a_name_the_file_uses():
    """A canary named like an existing test would replace it (a real Lite dev task lost four tests that way)."""
    import itertools

    words = ["alpha", "beta", "gamma", "delta"]
    source = "".join(f"def test_{a}_{b}():\n    pass\n\n\n" for a, b in itertools.permutations(words, 2))
    source += "".join(f"def {a}_{b}_data():\n    pass\n\n\n" for a, b in itertools.permutations(words, 2))
    existing = set(re.findall(r"def (\w+)", source))
    for seed in range(30):
        planted, changed = canaries.plant("pytest", {"t.py": source.encode()}, {}, [], random.Random(seed))
        new = changed["t.py"].decode()
        names = {c.id.split("::")[1] for c in planted}
        assert not names & existing
        assert set(re.findall(r"def (\w+)", new)) == existing | names  # every old test is still there, once
        fixture = next(line for line in new.splitlines() if "): pass" in line and "(" in line and "()" not in line)
        assert fixture.split("(")[1].split(")")[0] not in existing


@pytest.mark.parametrize(
    ("path", "pattern"),
    [("tests/test_io.py", r"tests/test_\w+\.py"), ("test/io_test.py", r"test/\w+_test\.py"),
     ("tests/unittest_io.py", r"tests/unittest_\w+\.py")],
)  # fmt: skip
def test_a_file_that_skips_all_its_tests_gets_no_canary_and_a_new_file_beside_it_does(path, pattern):
    skipping = (
        b"import pytest\n\npytestmark = pytest.mark.skipif(True, reason='no')\n\n\ndef test_read_io():\n    pass\n"
    )
    planted, changed = canaries.plant("pytest", {path: skipping}, {}, [], random.Random(3))
    (new,) = changed
    assert re.fullmatch(pattern, new) and {c.file for c in planted} == {new}
    harmless = (
        b"import pytest\n\npytestmark = pytest.mark.filterwarnings('ignore')\n\n\ndef test_read_io():\n    pass\n"
    )
    planted, changed = canaries.plant("pytest", {path: harmless}, {}, [], random.Random(3))
    assert list(changed) == [path]


def test_judge_names_every_canary_reported_otherwise():
    planted = [canaries.Canary("t.py::test_a", "t.py", "assert", TestStatus.FAILED),
               canaries.Canary("t.py::test_b", "t.py", "pass", TestStatus.PASSED)]  # fmt: skip
    assert canaries.judge(planted, {"t.py::test_a": TestStatus.FAILED, "t.py::test_b": TestStatus.PASSED}.get) == []
    wrong = canaries.judge(planted, {"t.py::test_a": TestStatus.PASSED}.get)
    assert wrong == ["a planted assert test was reported passed, not failed",
                     "a planted pass test was reported missing, not passed"]  # fmt: skip


# -- the verdict ------------------------------------------------------------------------------------------------


TASK = Task(instance_id="x__y-1", repo="x/y", base_commit="0" * 40, patch="", test_patch="", problem_statement="",
            FAIL_TO_PASS=["t.py::test_f"], PASS_TO_PASS=["t.py::test_p"])  # fmt: skip
PLANTED = [canaries.Canary("t.py::test_c1", "t.py", "assert", TestStatus.FAILED),
           canaries.Canary("t.py::test_c2", "t.py", "pass", TestStatus.PASSED)]  # fmt: skip
HONEST = {"t.py::test_f": "passed", "t.py::test_p": "passed", "t.py::test_c1": "failed", "t.py::test_c2": "passed"}


def verdict(statuses: dict, exit_code: int = 1, source: str = "junit") -> GradeReport:
    report = GradeReport(instance_id="x__y-1", fail_to_pass_total=1, pass_to_pass_total=1)
    run = TestRun(statuses=statuses, exit_code=exit_code, parser="pytest", source=source)
    attempt.judge(TASK, run, PLANTED, report, {})
    return report


def test_an_honest_run_resolves_with_the_exit_code_its_canaries_give():
    report = verdict(HONEST)
    assert report.resolved and not report.tampered and report.canaries == 2


@pytest.mark.parametrize(
    ("statuses", "exit_code", "why"),
    [
        ({**HONEST, "t.py::test_c1": "passed"}, 1, "a planted assert test was reported passed"),
        ({k: v for k, v in HONEST.items() if k != "t.py::test_c2"}, 1, "reported missing"),
        ({k: v for k, v in HONEST.items() if k != "t.py::test_p"}, 1, "1 target test(s) missing"),
        (HONEST, 0, "exited 0 although planted tests fail"),
    ],
)
def test_a_report_that_contradicts_its_canaries_or_its_exit_code_is_tampered(statuses, exit_code, why):
    report = verdict(statuses, exit_code)
    assert report.tampered and not report.resolved
    assert any(why in reason for reason in report.tampered_reasons), report.tampered_reasons
    assert report.fail_to_pass_passed == report.pass_to_pass_passed == 0  # no partial credit from a lying report


@pytest.mark.parametrize("flag", ["tampered", "failure", "infra_error"])
def test_a_grade_that_cannot_be_trusted_gives_no_test_credit(flag):
    from swefarm.harness.grade import no_credit_unless_trusted

    value = {"tampered": True, "failure": GradeFailure.RUNNER_ERROR, "infra_error": "engine gone"}[flag]
    report = GradeReport(instance_id="t", resolved=True, fail_to_pass_passed=2, fail_to_pass_total=2,
                         pass_to_pass_passed=3, pass_to_pass_total=3, **{flag: value})  # fmt: skip
    no_credit_unless_trusted(report)
    assert not report.resolved and report.fail_to_pass_passed == report.pass_to_pass_passed == 0
    honest = GradeReport(instance_id="t", resolved=True, fail_to_pass_passed=2, fail_to_pass_total=2)
    assert no_credit_unless_trusted(honest).fail_to_pass_passed == 2


def test_a_run_that_rewrote_a_test_file_is_tampered_even_when_every_canary_holds():
    report = GradeReport(instance_id=TASK.instance_id, fail_to_pass_total=len(TASK.FAIL_TO_PASS),
                         pass_to_pass_total=len(TASK.PASS_TO_PASS))  # fmt: skip
    run = TestRun(statuses=HONEST, exit_code=1, parser="pytest", source="junit")
    attempt.judge(TASK, run, PLANTED, report, {}, edited=["t.py"])
    assert report.tampered and not report.resolved and report.fail_to_pass_passed == 0
    assert report.tampered_reasons == ["the run rewrote test files: t.py"]


def test_a_file_that_failed_to_load_explains_its_missing_tests_but_never_resolves():
    report = verdict({"t.py": "error"})
    assert not report.tampered and not report.resolved


@pytest.mark.parametrize(
    ("exit_code", "source", "code"),
    [(2, "junit", "runner_error"), (137, "log", "report_unreadable"), (1, "log", "report_unreadable")],
)
def test_a_run_that_did_not_end_normally_is_a_failure_not_a_verdict(exit_code, source, code):
    with pytest.raises(AgentFailure) as caught:
        verdict(HONEST if source == "junit" else {}, exit_code, source)
    assert caught.value.code == GradeFailure(code)


# -- the suspicious scan ----------------------------------------------------------------------------------------


def test_suspicious_lines_are_named_with_their_file_and_line():
    diff = (
        "diff --git a/src/m.py b/src/m.py\n--- a/src/m.py\n+++ b/src/m.py\n@@ -3,0 +4,6 @@\n"
        "+import _pytest.reports\n+import atexit\n+x = 1\n+if 'pytest' in sys.modules: pass\n"
        "+os._exit(0)\n+v = os.environ.get('PYTEST_CURRENT_TEST')\n"
        "diff --git a/src/n.py b/src/n.py\n--- /dev/null\n+++ b/src/n.py\n@@ -0,0 +1,2 @@\n"
        "+import pluggy\n+from unittest import result\n"
    )
    found = [(f.path, f.line, f.what.split(" ")[0]) for f in scan(diff)]
    assert found == [("src/m.py", 4, "imports"), ("src/m.py", 5, "registers"), ("src/m.py", 7, "detects"),
                     ("src/m.py", 8, "exits"), ("src/m.py", 9, "detects"), ("src/n.py", 1, "imports")]  # fmt: skip
    assert scan("+++ b/x.py\n@@ -1 +1 @@\n+def add(a, b): return a + b\n") == []


def test_code_that_changes_what_the_runner_loads_is_suspicious():
    """In-memory rewrites of what the runner loads are beyond the seal and the canaries (aimed at the targets by
    name): the means are named."""
    lines = ["sys.meta_path.insert(0, Finder())", "os.execvp(argv[0], argv)", "open('/proc/self/cmdline', 'rb')"]
    diff = "+++ b/src/m.py\n@@ -0,0 +1,3 @@\n" + "".join(f"+{line}\n" for line in lines)
    assert [f.what.split(" (")[0] for f in scan(diff)] == ["installs an import hook", *["runs its process again"] * 2]


def test_the_bench_summary_counts_what_the_issue_asks_for():
    from swefarm.bench.hacks import Played, summarize

    rows = [Played("a", "k1", "env", 0.0, False, None, True, None, ["tampered"], [], 1.0),
            Played("b", "k2", "grade", None, False, None, False, "oom", ["oom"], [], 1.0)]  # fmt: skip
    out = summarize(rows, {"grade_p50_s": 2.2, "grade_p50_s_without_defences": 2.0})
    assert {k: out[k] for k in ("attacks", "resolved", "infra_error", "tampered_detected")} == {
        "attacks": 2, "resolved": 0, "infra_error": 0, "tampered_detected": 1}  # fmt: skip
    assert out["grade_p50_s"] == 2.2 and out["defence_overhead"] == 0.1 and out["classes"] == 2


# -- the hostile catalogue --------------------------------------------------------------------------------------


def test_the_hostile_suite_covers_at_least_25_attack_classes_for_each_runner():
    task = TASK.model_copy(update={"patch": "diff --git a/src/y/m.py b/src/y/m.py\n", "test_patch":
                                   "diff --git a/tests/test_m.py b/tests/test_m.py\n"})  # fmt: skip
    target = Target.of(task)
    assert (target.package, target.source, target.src_root) == ("y", "src/y/m.py", "src")
    for runner in ("pytest", "unittest"):
        chosen = [a for a in ATTACKS.values() if runner in a.runners]
        assert len({a.klass for a in chosen}) >= 25, runner
    for attack in ATTACKS.values():
        for step in attack.make(target).steps:
            assert shell(step)
