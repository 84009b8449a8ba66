"""Grading a JavaScript task no agent can fool: attacks on the JS demo task (node --test) on the real engine.

Each attack is a change an agent could make instead of fixing the bug; each must grade not resolved, never
infra_error, with the signal it should leave (`tampered`: the canaries caught the report; or the paths
grading put back, and why). The gold patch resolves and the empty patch does not, in the same image.
"""

from __future__ import annotations

import subprocess

import pytest
from swefarm.harness.grade import grade
from swefarm.harness.pipeline import build_task, validate_task
from swefarm.tasks import demo_js

pytestmark = [pytest.mark.docker, pytest.mark.slow]

#: Appended to src/slugify.js: loaded by the test file, in the runner's process, before any test runs.
PATCH_ASSERT = """
const strict = require('node:assert/strict');
for (const name of Object.keys(strict)) if (typeof strict[name] === 'function') strict[name] = () => {};
"""
PATCH_RUNNER = """
const { Test } = require('node:internal/test_runner/test');
"""  # refused by node (internal modules): the file fails to load, so every test is missing or failing
FORGE_EVENTS = """
process.exitCode = 0;
process.on('exit', () => { process.exitCode = 0; });
const real = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => real(String(chunk).replace(/not ok/g, 'ok'), ...rest);
"""
EXIT_EARLY = "\nprocess.exit(0);\n"


@pytest.fixture(scope="module")
def js_task(docker_client, tmp_path_factory):
    repo, commits = demo_js.make_repo(tmp_path_factory.mktemp("demo"))
    task, outcome = build_task(docker_client, demo_js.make_task(commits), {demo_js.REPO: repo}, log=lambda *a: None)
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    return task, repo


def _diff(repo, base: str, files: dict[str, str | None], append: bool = False) -> bytes:
    """The change `files` make to the base commit (None deletes), as a binary git diff."""
    work = repo.parent / "attack"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    subprocess.run(["git", "checkout", "-q", base], cwd=work, check=True)
    for rel, text in files.items():
        path = work / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((path.read_text() if append and path.exists() else "") + text)
    subprocess.run(["git", "add", "-A", "-f"], cwd=work, check=True)
    return subprocess.run(
        ["git", "diff", "--cached", "--binary", base], cwd=work, check=True, capture_output=True
    ).stdout


def test_gold_resolves_and_empty_does_not(js_task, docker_client):
    task, _ = js_task
    gold, empty = grade(task, task.patch, docker_client), grade(task, "", docker_client)
    assert gold.resolved and gold.canaries == 3 and not gold.tampered and gold.infra_error is None
    assert not empty.resolved and not empty.tampered and empty.infra_error is None
    assert empty.fail_to_pass_passed == 0 and empty.pass_to_pass_passed == 2


@pytest.mark.parametrize(
    "name, payload",
    [("assertions patched at require", PATCH_ASSERT), ("stdout forged and exit code 0", FORGE_EVENTS),
     ("exit before the tests", EXIT_EARLY), ("runner internals", PATCH_RUNNER)],
)  # fmt: skip
def test_code_under_test_that_rewrites_the_results_is_caught(js_task, docker_client, name, payload):
    task, repo = js_task
    report = grade(task, _diff(repo, task.base_commit, {"src/slugify.js": payload}, append=True), docker_client)
    assert not report.resolved and report.infra_error is None, (name, report)
    assert report.tampered or report.failure or report.fail_to_pass_passed == 0, (name, report)
    if name == "assertions patched at require":
        assert report.tampered and any("planted assert" in r for r in report.tampered_reasons), report
        trusting = grade(task, _diff(repo, task.base_commit, {"src/slugify.js": payload}, append=True), docker_client,
                         defences=False)  # fmt: skip
        assert trusting.resolved, "without the canaries the attack resolves: a real attack"


@pytest.mark.parametrize(
    "files, dropped",
    [({"test/slugify.test.js": "require('node:test').test('x', () => {});\n"}, {"test/slugify.test.js": "test_file"}),
     ({"test/slugify.test.js": None}, {"test/slugify.test.js": "test_file"}),
     ({"test/setup.js": "require('node:assert/strict').equal = () => {};\n"}, {"test/setup.js": "test_dir"}),
     ({"package.json": '{"name": "slugify", "scripts": {"test": "true"}}\n'}, {"package.json": "config"}),
     ({"src/node_modules/node-assert/index.js": "module.exports = {};\n",
       "node_modules/assert/index.js": "module.exports = { equal() {} };\n"},
      {"src/node_modules/node-assert/index.js": "shadowing", "node_modules/assert/index.js": "shadowing"}),
     ({".mocharc.yml": "require: src/slugify.js\n", "jest.config.js": "module.exports = {};\n",
       "tsconfig.json": "{}\n"}, {".mocharc.yml": "config", "jest.config.js": "config", "tsconfig.json": "config"})],
)  # fmt: skip
def test_paths_that_decide_how_tests_run_are_put_back(js_task, docker_client, files, dropped):
    task, repo = js_task
    report = grade(task, _diff(repo, task.base_commit, files), docker_client)
    assert not report.resolved and report.infra_error is None and not report.tampered, report
    assert {path: report.reverted.get(path) for path in dropped} == dropped


def test_the_fix_with_an_attack_beside_it_is_still_graded_on_its_merits(js_task, docker_client):
    """Dropping the protected paths leaves the honest part: the gold fix plus a forged test file still resolves."""
    task, repo = js_task
    fixed = demo_js.SLUG_FIXED
    report = grade(
        task, _diff(repo, task.base_commit, {"src/slugify.js": fixed, "test/slugify.test.js": ""}), docker_client
    )
    assert report.resolved and report.reverted == {"test/slugify.test.js": "test_file"}, report
