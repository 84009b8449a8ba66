"""JS tasks with dependencies from the npm registry, on the real engine: a project per runner (jest, mocha,
vitest) made with real git, built with `npm install --before=<task date>` (no lockfile), validated, and graded
with the runner's own canaries: gold resolves, empty does not, and patching the assertions is caught."""

from __future__ import annotations

import json
import subprocess

import pytest
from swefarm.harness.grade import grade
from swefarm.harness.pipeline import build_task, validate_task
from swefarm.tasks.demo import make_project
from swefarm.tasks.models import Task

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CODE_OLD = "function add(a, b) { return a - b; }\nmodule.exports = { add };\n"
CODE_NEW = "function add(a, b) { return a + b; }\nmodule.exports = { add };\n"
TESTS = {
    "jest": ("test/add.test.js", "const { add } = require('../src/add');\n"
             "describe('add', () => {\n  test('zero', () => { expect(add(0, 0)).toBe(0); });\n{new}});\n",
             "  test('two numbers', () => { expect(add(2, 3)).toBe(5); });\n"),
    "mocha": ("test/add.spec.js", "const assert = require('assert');\nconst { add } = require('../src/add');\n"
              "describe('add', () => {\n  it('zero', () => { assert.strictEqual(add(0, 0), 0); });\n{new}});\n",
              "  it('two numbers', () => { assert.strictEqual(add(2, 3), 5); });\n"),
    "vitest": ("test/add.test.mjs", "import { describe, test, expect } from 'vitest';\n"
               "import { add } from '../src/add.js';\n"
               "describe('add', () => {\n  test('zero', () => { expect(add(0, 0)).toBe(0); });\n{new}});\n",
               "  test('two numbers', () => { expect(add(2, 3)).toBe(5); });\n"),
}  # fmt: skip
VERSIONS = {"jest": "^29.7.0", "mocha": "^10.4.0", "vitest": "^1.5.0"}
#: Appended to the code under test: every assertion library the tests can use, made to pass.
PATCH = """
try {
  const a = require('assert');
  for (const k of Object.keys(a)) if (typeof a[k] === 'function') a[k] = () => {};
} catch {}
if (globalThis.expect) globalThis.expect = () => new Proxy({}, { get: () => () => {} });
"""


@pytest.fixture(scope="module", params=["jest", "mocha", "vitest"])
def js_task(request, docker_client, tmp_path_factory):
    runner = request.param
    path, old, new = TESTS[runner]
    package = {"name": f"add-{runner}", "version": "1.0.0", "scripts": {"test": runner},
               "devDependencies": {runner: VERSIONS[runner]}}  # fmt: skip
    before = {"package.json": json.dumps(package, indent=2) + "\n", ".gitignore": "node_modules/\n",
              "src/add.js": CODE_OLD, path: old.replace("{new}", "")}  # fmt: skip
    after = {"src/add.js": CODE_NEW, path: old.replace("{new}", new)}
    repo, commits = make_project(tmp_path_factory.mktemp(runner) / "add", before, after, "add 1.0", "Fix add (#1)")
    task = Task(instance_id=f"fixture__add-{runner}-1", repo=f"fixture/add-{runner}", base_commit=commits["base"],
                patch=commits["patch"], test_patch=commits["test_patch"], problem_statement="add() subtracts",
                created_at="2025-01-15T10:00:00Z", language="javascript")  # fmt: skip
    # (this machine's registry mirror dates versions by when it took them in, jest 29.7.0 on 2024-06-18)
    task, outcome = build_task(docker_client, task, {task.repo: repo}, log=lambda *a: None)
    assert outcome.ok, task.status_reason
    assert task.environment.log_parser == runner and task.environment.install[0].startswith("npm install")
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    yield task, repo
    subprocess.run(["docker", "rmi", "-f", task.environment.image], capture_output=True)


def test_the_runners_ids_validate_and_grade(js_task, docker_client):
    task, repo = js_task
    file = task.test_files()[0]
    sep = " " if task.environment.log_parser == "mocha" else " > "
    assert [f"{file}::add{sep}two numbers"] == task.FAIL_TO_PASS and [f"{file}::add{sep}zero"] == task.PASS_TO_PASS
    gold, empty = grade(task, task.patch, docker_client), grade(task, "", docker_client)
    assert gold.resolved and gold.canaries == 3 and not gold.tampered, gold
    assert not empty.resolved and not empty.tampered and empty.infra_error is None, empty


def test_assertions_patched_by_the_code_are_caught(js_task, docker_client, tmp_path):
    task, repo = js_task
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    subprocess.run(["git", "checkout", "-q", task.base_commit], cwd=work, check=True)
    (work / "src/add.js").write_text(CODE_OLD + PATCH)  # the bug kept, the assertions patched
    diff = subprocess.run(["git", "diff"], cwd=work, check=True, capture_output=True, text=True).stdout
    report = grade(task, diff, docker_client)
    assert not report.resolved and report.infra_error is None, report
    trusting = grade(task, diff, docker_client, defences=False)
    if task.environment.log_parser == "mocha":  # its tests call the shared `assert` module: the attack works
        assert trusting.resolved, trusting
    if trusting.resolved:  # an attack that works is caught by the canaries: reported wrongly, or (jest, whose
        # own failure formatting calls the patched `assert`) failing the whole file once a canary fails
        assert report.tampered or report.tests == dict.fromkeys(report.tests, "missing"), report
    if task.environment.log_parser == "mocha":
        assert report.tampered and any("planted assert" in r for r in report.tampered_reasons), report
