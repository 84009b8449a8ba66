"""Classes of JS/TS projects that failed to build or validate in the zoo, each reproduced on a fixture project
made with real git, built from the npm registry on the real engine, validated, and graded with canaries.

- tests that run compiled from a TypeScript outDir (`node --test dist/test/*.js`, sources in src/test/*.ts:
  uuid): ids keep the source's path, the build runs before every run, canaries survive the type checker;
- a test patch that changes only the data a test file reads (markdown-it's fixture texts): the tests beside it;
- a Yarn 2+ project with Plug'n'Play (no node_modules of its own): installed into node_modules by its release;
- a project whose install needs what only its scripts or the network beyond the registry give (ejs, micromatch,
  validator.js, ajv): mocha's `-u tdd` from the test script, a `github:` dependency (left out of the install),
  peer dependencies npm 7+ refuses (ERESOLVE: npm 6's rules), a native addon compiled against the base's
  own Node headers (node-gyp would download them from nodejs.org).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from swefarm.harness.grade import grade
from swefarm.harness.pipeline import build_task, validate_task
from swefarm.tasks.demo import make_project
from swefarm.tasks.models import Task

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TS_OLD = "export function add(a: number, b: number): number {\n  return a - b;\n}\n"
TS_NEW = "export function add(a: number, b: number): number {\n  return a + b;\n}\n"
TS_TEST = ('import { test } from "node:test";\nimport assert from "node:assert";\nimport { add } from "../add";\n\n'
           'test("zero", () => {\n  assert.strictEqual(add(0, 0), 0);\n});\n{new}')  # fmt: skip
TS_NEW_TEST = 'test("two numbers", () => {\n  assert.strictEqual(add(2, 3), 5);\n});\n'
OPTIONS = {"outDir": "./dist", "rootDir": "./src", "module": "commonjs", "target": "es2020", "strict": True,
           "esModuleInterop": True, "types": ["node"]}  # fmt: skip
TSCONFIG = {"compilerOptions": OPTIONS, "include": ["src"]}

NATIVE = r"""#include <node_api.h>

static napi_value Twice(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  double x = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_double(env, argv[0], &x);
  napi_create_double(env, 2 * x, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "twice", NAPI_AUTO_LENGTH, Twice, NULL, &fn);
  napi_set_named_property(env, exports, "twice", fn);
  return exports;
}
"""
CALC_OLD = "const { twice } = require('twice');\n\nfunction add(a, b) { return a - b; }\n" \
           "module.exports = { add, twice };\n"  # fmt: skip
CALC_TEST = ("const assert = require('assert');\nconst { add, twice } = require('../src/calc');\n\n"
             "suite('calc', function () {\n"
             "  test('twice', function () { assert.strictEqual(twice(2), 4); });\n{new}});\n")  # fmt: skip
CALC_NEW_TEST = "  test('adds', function () { assert.strictEqual(add(2, 3), 5); });\n"


def _build_and_validate(docker_client, tmp_path_factory, name, before, after):
    repo, commits = make_project(tmp_path_factory.mktemp(name) / name, before, after, f"{name} 1.0", "Fix add (#1)")
    task = Task(instance_id=f"fixture__{name}-1", repo=f"fixture/{name}", base_commit=commits["base"],
                patch=commits["patch"], test_patch=commits["test_patch"], problem_statement="add() subtracts",
                created_at="2025-01-15T10:00:00Z", language="javascript")  # fmt: skip
    task, outcome = build_task(docker_client, task, {task.repo: repo}, log=lambda *a: None)
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    return task


@pytest.fixture(scope="module")
def compiled_task(docker_client, tmp_path_factory):
    package = {"name": "add-ts", "version": "1.0.0",
               "scripts": {"build": "tsc -p tsconfig.build.json", "test": "node --test dist/test/*.js"},
               "devDependencies": {"typescript": "^5.4.0", "@types/node": "^20.11.0"}}  # fmt: skip
    before = {"package.json": json.dumps(package, indent=2) + "\n", ".gitignore": "node_modules/\ndist/\n",
              "tsconfig.build.json": json.dumps(TSCONFIG, indent=2) + "\n", "src/add.ts": TS_OLD,
              "src/test/add.test.ts": TS_TEST.replace("{new}", "")}  # fmt: skip
    after = {"src/add.ts": TS_NEW, "src/test/add.test.ts": TS_TEST.replace("{new}", "\n" + TS_NEW_TEST)}
    task = _build_and_validate(docker_client, tmp_path_factory, "add-ts", before, after)
    yield task
    subprocess.run(["docker", "rmi", "-f", task.environment.image], capture_output=True)


def test_tests_compiled_from_typescript_validate_and_grade_under_their_source_ids(compiled_task, docker_client):
    task = compiled_task
    env = task.environment
    assert (env.log_parser, env.build, env.compiled_tests) == ("node", ["npm run build"], {"src/": "dist/"})
    assert task.FAIL_TO_PASS == ["src/test/add.test.ts::two numbers"]
    assert task.PASS_TO_PASS == ["src/test/add.test.ts::zero"]
    gold, empty = grade(task, task.patch, docker_client), grade(task, "", docker_client)
    assert gold.resolved and gold.canaries == 3 and not gold.tampered, gold  # canaries pass tsc's checks
    assert not empty.resolved and not empty.tampered and empty.infra_error is None, empty


@pytest.fixture(scope="module")
def install_classes_task(docker_client, tmp_path_factory):
    package = {"name": "calc-tdd", "version": "1.0.0", "scripts": {"test": "mocha -u tdd"},
               "dependencies": {"twice": "file:native"},  # a native addon: `node-gyp rebuild` when installed
               "devDependencies": {"mocha": "^10.4.0", "time-require": "github:jonschlinkert/time-require",
                                   "rollup": "^0.47.0", "rollup-plugin-babel": "^4.0.1"}}  # fmt: skip
    gyp = {"targets": [{"target_name": "twice", "sources": ["twice.c"]}]}
    addon = {"name": "twice", "version": "1.0.0", "main": "build/Release/twice.node"}
    text = json.dumps(package, indent=2) + "\n"
    before = {"package.json": text, ".gitignore": "node_modules/\nbuild/\n", "native/binding.gyp": json.dumps(gyp),
              "native/package.json": json.dumps(addon), "native/twice.c": NATIVE, "src/calc.js": CALC_OLD,
              "test/calc.js": CALC_TEST.replace("{new}", "")}  # fmt: skip
    after = {"src/calc.js": CALC_OLD.replace("a - b", "a + b"),
             "test/calc.js": CALC_TEST.replace("{new}", CALC_NEW_TEST)}  # fmt: skip
    task = _build_and_validate(docker_client, tmp_path_factory, "calc-tdd", before, after)
    yield task, text
    subprocess.run(["docker", "rmi", "-f", task.environment.image], capture_output=True)


def test_a_project_needing_its_scripts_options_a_pruned_install_npm6_peers_and_local_headers_builds(
    install_classes_task, docker_client
):
    task, package_text = install_classes_task
    env = task.environment
    assert env.runner_options == ["-u", "tdd"] and "time-require" in env.install[0]
    assert task.FAIL_TO_PASS == ["test/calc.js::calc adds"] and task.PASS_TO_PASS == ["test/calc.js::calc twice"]
    # the image's package.json is the project's own, byte for byte (the pruned copy was only for the install)
    cat = ["docker", "run", "--rm", "--network", "none", env.image, "cat", "/opt/swefarm/repo/package.json"]
    shown = subprocess.run(cat, capture_output=True, text=True, check=True).stdout
    assert shown == package_text
    gold, empty = grade(task, task.patch, docker_client), grade(task, "", docker_client)
    assert gold.resolved and gold.canaries == 3 and not gold.tampered, gold  # canaries under mocha's TDD interface
    assert not empty.resolved and not empty.tampered and empty.infra_error is None, empty


def test_the_pruning_script_removes_a_dependency_from_every_section_on_the_node_base(docker_client, tmp_path):
    from swefarm.harness.recipe_js import _PRUNE
    from swefarm.sandbox.node_bases import NODE_BASES, ensure_node_base

    base = NODE_BASES["20"]
    ensure_node_base(docker_client, base, log=lambda *a: None)
    package = {"name": "x", "dependencies": {"a": "1", "gone": "u/r"}, "devDependencies": {"gone": "u/r", "b": "2"}}
    (tmp_path / "package.json").write_text(json.dumps(package))
    docker_client.containers.run(base.tag, ["node", "-e", _PRUNE, "gone"], network_mode="none", remove=True,
                                 volumes={str(tmp_path): {"bind": "/w", "mode": "rw"}}, working_dir="/w")  # fmt: skip
    after = json.loads((tmp_path / "package.json").read_text())
    assert after == {"name": "x", "dependencies": {"a": "1"}, "devDependencies": {"b": "2"}}


BERRY = "4.5.3"
ADD_JS = "function add(a, b) { return a - b; }\nmodule.exports = { add };\n"


@pytest.fixture(scope="module")
def berry_task(docker_client, tmp_path_factory):
    """A Plug'n'Play project of Yarn 4 (its lockfile made here by that release, in the node base)."""
    from swefarm.harness.images import DEFAULT_CA_BUNDLE
    from swefarm.sandbox.node_bases import NODE_BASES, ensure_node_base

    base = NODE_BASES["20"]
    ensure_node_base(docker_client, base, log=lambda *a: None)
    package = {"name": "add-berry", "version": "1.0.0", "packageManager": f"yarn@{BERRY}",
               "scripts": {"test": "mocha"}, "devDependencies": {"mocha": "10.4.0"}}  # fmt: skip
    old = "const assert = require('assert');\nconst { add } = require('../src/add');\n\n" \
          "describe('add', () => {\n  it('zero', () => { assert.strictEqual(add(0, 0), 0); });\n{new}});\n"  # fmt: skip
    new = "  it('two numbers', () => { assert.strictEqual(add(2, 3), 5); });\n"
    before = {"package.json": json.dumps(package, indent=2) + "\n", ".yarnrc.yml": "nodeLinker: pnp\n",
              ".gitignore": "node_modules/\n.yarn/\n.pnp.*\n", "src/add.js": ADD_JS,
              "test/add.spec.js": old.replace("{new}", "")}  # fmt: skip
    work = tmp_path_factory.mktemp("berry-lock")
    (work / "package.json").write_text(before["package.json"])
    (work / ".yarnrc.yml").write_text(before[".yarnrc.yml"])
    ca = {DEFAULT_CA_BUNDLE: {"bind": "/etc/swefarm/ca.crt", "mode": "ro"}} if DEFAULT_CA_BUNDLE else {}
    make_lock = f"npx --yes --package=@yarnpkg/cli-dist@{BERRY} -- yarn install --mode=update-lockfile"
    docker_client.containers.run(
        base.tag, ["bash", "-c", make_lock], network_mode="host", remove=True, working_dir="/w",
        volumes={str(work): {"bind": "/w", "mode": "rw"}, **ca},
        environment={"NODE_EXTRA_CA_CERTS": "/etc/swefarm/ca.crt", "YARN_ENABLE_TELEMETRY": "0"},
    )  # fmt: skip
    before["yarn.lock"] = (work / "yarn.lock").read_text()
    after = {"src/add.js": ADD_JS.replace("a - b", "a + b"),
             "test/add.spec.js": old.replace("{new}", new)}  # fmt: skip
    task = _build_and_validate(docker_client, tmp_path_factory, "add-berry", before, after)
    yield task
    subprocess.run(["docker", "rmi", "-f", task.environment.image], capture_output=True)


def test_a_yarn_plug_n_play_project_builds_validates_and_grades(berry_task, docker_client):
    task = berry_task
    assert "yarn install --immutable" in task.environment.install[0]
    assert task.FAIL_TO_PASS == ["test/add.spec.js::add two numbers"]
    gold, empty = grade(task, task.patch, docker_client), grade(task, "", docker_client)
    assert gold.resolved and gold.canaries == 3 and not gold.tampered, gold
    assert not empty.resolved and not empty.tampered and empty.infra_error is None, empty


SLUG_TEST = """const { test } = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const { slug } = require("../src/slug");

for (const line of fs.readFileSync(path.join(__dirname, "fixtures/cases.txt"), "utf8").split("\\n").filter(Boolean)) {
  const [input, output] = line.split(" => ");
  test(`slug ${input}`, () => {
    assert.strictEqual(slug(input), output);
  });
}
"""


@pytest.fixture(scope="module")
def fixture_only_task(docker_client, tmp_path_factory):
    slug = "exports.slug = (s) => s.toLowerCase();\n"
    before = {"package.json": '{"name": "slug", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
              "src/slug.js": slug, "test/cases.test.js": SLUG_TEST,
              "test/fixtures/cases.txt": "Hello => hello\n"}  # fmt: skip
    after = {"src/slug.js": slug.replace("s.toLowerCase()", 's.toLowerCase().replace(/ /g, "-")'),
             "test/fixtures/cases.txt": "Hello => hello\nHello World => hello-world\n"}  # fmt: skip
    task = _build_and_validate(docker_client, tmp_path_factory, "slug-data", before, after)
    yield task
    subprocess.run(["docker", "rmi", "-f", task.environment.image], capture_output=True)


def test_a_test_patch_of_fixture_data_only_validates_through_the_tests_beside_it(fixture_only_task, docker_client):
    task = fixture_only_task
    assert task.test_files() == ["test/fixtures/cases.txt"]
    assert task.FAIL_TO_PASS == ["test/cases.test.js::slug Hello World"]
    assert task.PASS_TO_PASS == ["test/cases.test.js::slug Hello"]
    gold, empty = grade(task, task.patch, docker_client), grade(task, "", docker_client)
    assert gold.resolved and gold.canaries == 3 and not gold.tampered, gold
    assert not empty.resolved and not empty.tampered and empty.infra_error is None, empty
