"""JS recipes from package.json and the files beside it (nothing executed)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from swefarm.harness.recipe import infer_recipe, recipe_hash
from swefarm.harness.recipe_js import infer_js_recipe, node_version, package_manager, test_runner
from swefarm.tasks.models import Environment, Task


def make_task(**fields) -> Task:
    base = {"instance_id": "demo__js-1", "repo": "demo/js", "base_commit": "0" * 40, "patch": "", "test_patch": "",
            "problem_statement": "x", "created_at": "2024-05-02T10:00:00Z"}  # fmt: skip
    return Task(**{**base, **fields})


def _project(tmp_path, package: dict, **files: str):
    (tmp_path / "package.json").write_text(json.dumps(package))
    for name, text in files.items():
        (tmp_path / name.replace("__", "/")).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "lockfile, manager, install",
    [("package-lock.json", "npm", "npm ci"), ("npm-shrinkwrap.json", "npm", "npm ci"),
     ("yarn.lock", "yarn", "yarn install --frozen-lockfile"),
     ("pnpm-lock.yaml", "pnpm", "pnpm install --frozen-lockfile")],
)  # fmt: skip
def test_the_lockfile_names_the_package_manager_and_the_install_is_frozen(tmp_path, lockfile, manager, install):
    root = _project(tmp_path, {"devDependencies": {"jest": "^29"}}, **{lockfile: "{}"})
    assert package_manager(root, {})[0] == manager
    env = infer_js_recipe(root, make_task(language="javascript")).environment
    assert env.install[0].startswith(install)


def test_without_a_lockfile_dependencies_resolve_as_of_the_task_date(tmp_path):
    root = _project(tmp_path, {"devDependencies": {"mocha": "^10"}, "packageManager": "yarn@1.22.0"})
    task = make_task(language="javascript", created_at="2023-03-04T05:06:07Z")
    env = infer_js_recipe(root, task).environment
    first, peers, later, later_peers, newest, newest_peers = env.install[0].split(" || ")
    plain = "npm install --no-audit --no-fund --no-package-lock"
    assert first == f"{plain} --before=2023-03-04T05:06:07Z"
    assert peers.endswith(f"{plain} --before=2023-03-04T05:06:07Z --legacy-peer-deps; }}")  # npm 6's peer rules
    assert later.endswith(f"{plain} --before=2024-03-03T05:06:07Z; }}")
    assert later_peers.endswith(f"{plain} --before=2024-03-03T05:06:07Z --legacy-peer-deps; }}")
    assert newest.endswith(f"{plain}; }}") and newest_peers.endswith(f"{plain} --legacy-peer-deps; }}")
    assert env.log_parser == "mocha"


@pytest.mark.parametrize(
    "spec",
    ["github:jonschlinkert/time-require", "jonschlinkert/time-require", "git+ssh://git@github.com/a/b.git",
     "https://codeload.github.com/a/b/tar.gz/main", "git://github.com/a/b.git#v1"],
)  # fmt: skip
def test_dependencies_only_a_git_host_serves_are_left_out_of_the_install_and_package_json_is_put_back(tmp_path, spec):
    package = {"devDependencies": {"mocha": "^10", "time-require": spec, "@scope/ok": "npm:ok@1"}}
    root = _project(tmp_path, package, **{"package-lock.json": "{}"})
    result = infer_js_recipe(root, make_task(language="javascript"))
    (install,) = result.environment.install
    assert install.startswith("cp package.json /tmp/swefarm-package.json && node -e ")
    assert " time-require && { npm install " in install and "@scope/ok" not in install  # the lockfile too
    assert install.endswith("&& cp /tmp/swefarm-package.json package.json")
    assert any("time-require" in note and "left out" in note for note in result.notes)


def test_a_lockfile_install_falls_back_to_npm_6s_peer_rules_then_to_the_dependencies_as_of_the_date(tmp_path):
    root = _project(tmp_path, {"devDependencies": {"jest": "^29"}}, **{"package-lock.json": "{}"})
    task = make_task(language="javascript", created_at="2023-03-04T05:06:07Z")
    (install,) = infer_js_recipe(root, task).environment.install
    steps = install.split(" || ")
    assert steps[0] == "npm ci --no-audit --no-fund"
    assert steps[1].endswith("npm ci --no-audit --no-fund --legacy-peer-deps; }")
    # an install script that downloads from GitHub (sharp): the locked tree without install scripts
    assert steps[2].endswith("npm ci --no-audit --no-fund --legacy-peer-deps --ignore-scripts; }")
    # a locked version the registry no longer serves (date-fns: a 404): the lockfile is left aside
    assert "npm install --no-audit --no-fund --no-package-lock --before=2023-03-04T05:06:07Z" in steps[3]
    assert install.endswith("npm install --no-audit --no-fund --no-package-lock --legacy-peer-deps; }; }")


def test_the_runners_options_and_variables_come_from_the_projects_scripts(tmp_path):
    package = {
        "scripts": {"test": "npm run lint && npm run test-cov", "test-cov": "nyc npm run test-spec",
                    "test-spec": "cross-env TS_NODE_PROJECT=spec/tsconfig.json mocha -r ts-node/register "
                                 "'spec/**/*.spec.{ts,js}' -R dot --timeout=10000", "lint": "eslint ."},
        "devDependencies": {"mocha": "10", "ts-node": "10", "typescript": "5"},
    }  # fmt: skip
    env = infer_js_recipe(_project(tmp_path, package), None).environment
    assert env.log_parser == "mocha" and env.build == []  # ts-node compiles
    assert env.runner_options == ["-r", "ts-node/register", "--timeout=10000"]
    assert env.env_vars == {"TS_NODE_PROJECT": "spec/tsconfig.json", "CI": "true"}


def test_tests_run_from_a_typescript_outdir_map_to_their_sources(tmp_path):
    package = {"scripts": {"build": "./scripts/build.sh",
                           "test": "node --test --enable-source-maps dist/esm/test/*.js"},
               "devDependencies": {"typescript": "5"}}  # fmt: skip
    tsconfig = '// for the editor\n{ "extends": "./tsconfig.base.json", "compilerOptions": {"outDir": "./dist/esm",},}'
    root = _project(tmp_path, package, **{"tsconfig.esm.json": tsconfig})
    (root / "src/test").mkdir(parents=True)
    (root / "src/test/v4.test.ts").write_text("")
    env = infer_js_recipe(root, None).environment
    assert env.build == ["npm run build"] and env.runner_options == ["--enable-source-maps"]
    assert env.compiled_tests == {"src/": "dist/esm/"}


def test_no_dependencies_install_nothing(tmp_path):
    env = infer_js_recipe(_project(tmp_path, {"scripts": {"test": "node --test"}}), None).environment
    assert env.install == [] and env.log_parser == "node" and env.node == "20"


@pytest.mark.parametrize(
    "package, runner",
    [({"scripts": {"test": "vitest run"}, "devDependencies": {"jest": "1"}}, "vitest"),
     ({"scripts": {"test": "jest --coverage"}}, "jest"),
     ({"scripts": {"test": "nyc mocha"}}, "mocha"),
     ({"scripts": {"test": "node --test test/"}}, "node"),
     ({"devDependencies": {"jest": "29", "mocha": "10"}}, "jest"),
     ({}, "node")],
)  # fmt: skip
def test_the_runner_comes_from_the_test_script_then_the_dependencies(package, runner):
    assert test_runner(package)[0] == runner


@pytest.mark.parametrize(
    "package, files, created, node",
    [({"engines": {"node": "^18.17 || >=20"}}, {}, None, "18"),
     ({"engines": {"node": ">= 0.6"}}, {}, date(2024, 5, 1), "20"),  # a floor: the date's LTS is above it
     ({"engines": {"node": ">=20"}}, {}, date(2023, 5, 1), "20"),
     ({}, {".nvmrc": "v20.11.0\n"}, None, "20"),
     ({}, {".node-version": "18"}, None, "18"),
     ({}, {}, date(2023, 5, 1), "18"),
     ({}, {}, date(2024, 5, 1), "20")],
)  # fmt: skip
def test_the_node_version(tmp_path, package, files, created, node):
    root = _project(tmp_path, package, **files)
    assert node_version(root, package, created)[0] == node


def test_typescript_compiled_for_node_or_mocha_is_built_before_every_run(tmp_path):
    package = {"scripts": {"build": "tsc"}, "devDependencies": {"typescript": "5", "mocha": "10"}}
    root = _project(tmp_path, package, **{"pnpm-lock.yaml": ""})
    assert infer_js_recipe(root, None).environment.build == ["pnpm run build"]
    package["devDependencies"]["ts-node"] = "10"  # mocha compiles it itself then
    assert infer_js_recipe(_project(tmp_path, package), None).environment.build == []
    jest = {"scripts": {"build": "tsc"}, "devDependencies": {"typescript": "5", "jest": "29"}}
    assert infer_js_recipe(_project(tmp_path, jest), None).environment.build == []


def test_infer_recipe_takes_the_js_path_for_a_javascript_task(tmp_path):
    root = _project(tmp_path, {"devDependencies": {"vitest": "1"}})
    (tmp_path / "package-lock.json").write_text("{}")
    env = infer_recipe(root, make_task(language="javascript")).environment
    assert (env.python, env.node, env.log_parser) == (None, "20", "vitest")
    assert env.install[0].startswith("npm ci --no-audit --no-fund || ")


def test_a_python_recipes_hash_does_not_change_with_the_node_field():
    import hashlib

    env = Environment(python="3.11", install=["uv pip install -e ."], packages=["b", "a"])
    before = {"python": "3.11", "pre_install": [], "install": ["uv pip install -e ."], "packages": ["a", "b"],
              "env_vars": {}}  # fmt: skip  # the payload as it was hashed before the field existed
    payload = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert recipe_hash(env) == hashlib.sha256(payload.encode()).hexdigest()[:16]
    assert recipe_hash(env.model_copy(update={"node": "20"})) != recipe_hash(env)


@pytest.mark.parametrize(
    "version, install",
    [("5.4", "npx --yes pnpm@7 install"), ("'6.0'", "npx --yes pnpm@8 install"), ("'9.0'", "pnpm install --frozen")],
)
def test_an_old_pnpm_lockfile_is_installed_by_the_pnpm_that_reads_it(tmp_path, version, install):
    lockfile = {"pnpm-lock.yaml": f"lockfileVersion: {version}\n"}
    root = _project(tmp_path, {"devDependencies": {"jest": "29"}}, **lockfile)
    assert infer_js_recipe(root, None).environment.install[0].startswith(install)


def test_the_build_is_what_pretest_compiles_else_build_else_compile(tmp_path):
    yargs = {"scripts": {"pretest": "npm run compile -- -p tsconfig.test.json", "compile": "rimraf build && tsc",
                         "test": "c8 mocha --enable-source-maps ./test/*.mjs --require ./test/before.mjs "
                                 "--timeout=24000 --check-leaks"},
             "devDependencies": {"typescript": "5", "mocha": "10"}}  # fmt: skip
    env = infer_js_recipe(_project(tmp_path, yargs), None).environment
    assert env.build == ["npm run compile -- -p tsconfig.test.json"]
    assert env.runner_options == ["--enable-source-maps", "--require", "./test/before.mjs", "--timeout=24000",
                                  "--check-leaks"]  # fmt: skip
    lint = {"scripts": {"pretest": "eslint .", "compile": "tsc"}, "devDependencies": {"typescript": "5"}}
    assert infer_js_recipe(_project(tmp_path, lint), None).environment.build == ["npm run compile"]


def test_node_options_come_from_the_command_that_runs_the_tests():
    from swefarm.harness.recipe_js_scripts import runner_options

    remark = {"scripts": {"build": "tsc --build", "test": "npm run build && npm run test-coverage",
                          "test-coverage": "c8 --100 npm run test-api",
                          "test-api": "node --conditions development test.js"}}  # fmt: skip
    assert runner_options(remark, "node") == (["--conditions", "development"], {})
    assert runner_options({"scripts": {"start": "node --inspect server.js"}}, "node") == ([], {})


def test_a_yarn_2_project_installs_with_its_own_release_into_node_modules(tmp_path):
    lock = "# yarn lockfile\n\n__metadata:\n  version: 8\n  cacheKey: 10\n"
    package = {"packageManager": "yarn@4.5.3", "devDependencies": {"vitest": "1"}}
    env = infer_js_recipe(_project(tmp_path, package, **{"yarn.lock": lock}), None).environment
    first = env.install[0].split(" || ")[0]
    assert first == ("YARN_NODE_LINKER=node-modules YARN_ENABLE_GLOBAL_CACHE=false YARN_ENABLE_TELEMETRY=0 "
                     "npx --yes --package=@yarnpkg/cli-dist@4.5.3 -- yarn install --immutable")  # fmt: skip
    (tmp_path / ".yarn/releases").mkdir(parents=True)
    (tmp_path / ".yarn/releases/yarn-4.1.0.cjs").write_text("")
    (tmp_path / ".yarnrc.yml").write_text("nodeLinker: pnp\nyarnPath: .yarn/releases/yarn-4.1.0.cjs\n")
    first = infer_js_recipe(tmp_path, None).environment.install[0].split(" || ")[0]
    assert first.endswith("YARN_ENABLE_TELEMETRY=0 yarn install --immutable")  # yarn 1 hands over to yarnPath
    (tmp_path / "yarn.lock").write_text('# yarn lockfile v1\n\nmocha@^10:\n  version "10.4.0"\n')
    assert infer_js_recipe(tmp_path, None).environment.install[0].startswith("yarn install --frozen-lockfile")


def test_pretests_compiling_commands_run_before_the_tests_whatever_the_language_and_linters_do_not(tmp_path):
    validator = {"scripts": {"build": "run-p build:*", "pretest": "npm run build && npm run lint",
                             "test": "nyc mocha --require @babel/register --reporter dot --recursive"},
                 "devDependencies": {"mocha": "10", "@babel/register": "7"}}  # fmt: skip
    env = infer_js_recipe(_project(tmp_path, validator), None).environment
    assert env.build == ["npm run build"] and env.runner_options == ["--require", "@babel/register", "--recursive"]


def test_mochas_legacy_opts_file_gives_its_interface(tmp_path):
    root = _project(tmp_path, {"scripts": {"test": "mocha"}, "devDependencies": {"mocha": "10"}})
    (root / "test").mkdir()
    (root / "test/mocha.opts").write_text("# options\n--ui tdd\n--reporter dot\n")
    assert infer_js_recipe(root, None).environment.runner_options == ["--ui", "tdd"]


def test_the_tests_beside_a_patch_of_fixtures_are_those_in_its_folders_and_above():
    from swefarm.harness.validate import tests_beside

    tracked = ["test/markdown-it.mjs", "test/misc.mjs", "test/fixtures/markdown-it/x.txt", "test/fixtures/t.test.js",
               "lib/index.mjs", "other/test/a.test.js", "test/deep/b.test.js"]  # fmt: skip
    assert tests_beside(["test/fixtures/markdown-it/x.txt"], tracked) == ["test/markdown-it.mjs", "test/misc.mjs"]
    assert tests_beside(["README.md"], tracked) == []


def test_tests_that_import_the_builds_output_build_before_every_run(tmp_path):
    ajv = {"scripts": {"build": "rm -rf dist && tsc", "test-spec": "mocha -r ts-node/register 'spec/**/*.spec.ts'"},
           "devDependencies": {"mocha": "10", "ts-node": "10", "typescript": "5"}}  # fmt: skip
    root = _project(tmp_path, ajv, **{"tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}'})
    (root / "spec").mkdir()
    (root / "spec/jtd.spec.ts").write_text('import standalone from "../dist/standalone/instance"\n')
    assert infer_js_recipe(root, None).environment.build == ["npm run build"]  # though ts-node compiles the specs
    (root / "spec/jtd.spec.ts").write_text('import standalone from "../lib/standalone"\n')
    assert infer_js_recipe(root, None).environment.build == []


def test_a_test_scripts_own_build_runs_before_every_run_and_its_type_checks_and_runner_do_not():
    from swefarm.harness.recipe_js_scripts import pretest_builds

    markdown_it = {"scripts": {"test": "npm run lint && CJS_ONLY=1 npm run build && c8 mocha && node support/x.mjs"}}
    assert pretest_builds(markdown_it) == ["CJS_ONLY=1 npm run build"]
    checks = {"scripts": {"pretest": "tsc --noEmit", "test": "vitest run && tsc -p tsconfig.test.json --noEmit"}}
    assert pretest_builds(checks) == []


def test_a_runner_a_toolkit_runs_or_only_its_configuration_names_is_found(tmp_path):
    wrapped = {
        "scripts": {"test": "ts-scripts test && npm run size"},
        "devDependencies": {"@borderless/ts-scripts": "0"},
    }
    assert test_runner(wrapped)[0] == "vitest"
    root = _project(tmp_path, {"scripts": {"test": "turbo run test"}}, **{"jest.config.js": "module.exports = {}"})
    assert test_runner({}, root)[0] == "jest" and test_runner({})[0] == "node"
