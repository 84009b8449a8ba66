"""Recipe inference for JavaScript/TypeScript projects, read from package.json and the files beside it.

    infer_js_recipe(checkout, task)   # -> RecipeInference, as harness/recipe.py's infer_recipe

- the package manager from the lockfile (pnpm-lock.yaml, yarn.lock, package-lock.json or
  npm-shrinkwrap.json), else package.json's `packageManager`, else npm;
- the Node version from `engines.node`, `.nvmrc` or `.node-version`, else the LTS of the task's date
  (Node 20 became LTS on 2023-10-24), as a base of sandbox/node_bases.py;
- the install: from the lockfile (`npm ci`, `yarn install --frozen-lockfile`, `pnpm install
  --frozen-lockfile`; an old pnpm lockfile by the pnpm that wrote it), else resolved as of the task's date
  (`npm install --before=DATE`, npm's analogue of uv's exclude-newer, retried LATER_DAYS later when nothing
  fits; yarn and pnpm have no such option, so npm installs for them too); nothing without dependencies;
- the runner from package.json: vitest, jest or mocha in its dependencies or its `test` script,
  else `node --test`;
- a build before every test run: the compiling commands of `pretest` (npm runs it before `npm test`), else
  `npm run build` (or `compile`) when the tests run compiled TypeScript: TypeScript in the dependencies and a
  runner that does not compile it itself (node, mocha without ts-node or tsx).

Nothing in the checkout is executed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from swefarm.harness.recipe_js_scripts import (
    DEPENDENCY_KEYS,
    build_script,
    compiled_tests,
    out_dirs,
    pretest_builds,
    runner_options,
    unreachable_dependencies,
)
from swefarm.harness.runners_js import is_js_test_file
from swefarm.tasks.models import Environment, Task

#: When each Node major became the active LTS: the newest one on a task's date is its default.
NODE_LTS = (("18", date(2022, 10, 25)), ("20", date(2023, 10, 24)))
LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
#: Runners in the order they are looked for (a project with vitest and a leftover jest runs vitest).
RUNNERS = ("vitest", "jest", "mocha")
_FROZEN = {
    "npm": "npm ci --no-audit --no-fund",
    "yarn": "yarn install --frozen-lockfile --non-interactive",
    "pnpm": "pnpm install --frozen-lockfile",
}
_RUN = {"npm": "npm run", "yarn": "yarn run", "pnpm": "pnpm run"}


def read_package(root: Path) -> tuple[dict[str, Any], list[str]]:
    """package.json as a dict ({} when missing or unreadable) and notes on what went wrong."""
    path = Path(root) / "package.json"
    if not path.is_file():
        return {}, ["no package.json"]
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        return {}, [f"package.json is not valid JSON ({exc}); ignored"]
    return (data, []) if isinstance(data, dict) else ({}, ["package.json is not an object; ignored"])


def package_manager(root: Path, package: dict[str, Any]) -> tuple[str, str | None, str]:
    """(manager, its lockfile or None, why)."""
    for name, manager in LOCKFILES:
        if (Path(root) / name).is_file():
            return manager, name, f"package manager {manager}: {name}"
    declared = str(package.get("packageManager", "")).split("@", 1)[0]
    if declared in _FROZEN:
        return declared, None, f"package manager {declared}: packageManager in package.json (no lockfile)"
    return "npm", None, "package manager npm: no lockfile"


#: How much later a dependency install that fails at the task's date is retried.
LATER_DAYS = 365
#: npm 7+ refuses a tree whose peer dependencies conflict (ERESOLVE); npm 6, the projects' own, did not.
LEGACY_PEERS = "--legacy-peer-deps"
NO_SCRIPTS = "--ignore-scripts"
_PLAIN = "npm install --no-audit --no-fund --no-package-lock"


#: Removes the dependencies named on its command line from package.json (every dependency section).
_PRUNE = (
    'const fs = require("fs"), p = JSON.parse(fs.readFileSync("package.json", "utf8"));'
    f" for (const k of {json.dumps(list(DEPENDENCY_KEYS))})"
    " for (const n of process.argv.slice(1)) if (p[k]) delete p[k][n];"
    ' fs.writeFileSync("package.json", JSON.stringify(p, null, 2));'
)


def _fallbacks(commands: list[str]) -> str:
    """One shell command that tries each command in turn, saying on stderr which one it falls back to."""
    chain = commands[0]
    for command in commands[1:]:
        say = shlex.quote(f"swefarm: falling back to: {command.split(' || ', 1)[0]}")
        chain += f" || {{ echo {say} >&2; {command}; }}"
    return chain


def _dated_install(day: datetime | None, unreachable: dict[str, str]) -> str:
    """npm install as of `day` (then with npm 6's peer rules, then a year later), `unreachable` left out of
    package.json for the install and package.json put back after it."""
    if day is None:
        steps = [_PLAIN, f"{_PLAIN} {LEGACY_PEERS}"]
    else:  # a year later when nothing fits the date (a registry that dates versions by when it took them in)
        later = day + timedelta(days=LATER_DAYS)
        # last, the newest versions the ranges allow: a registry (or mirror) that dates versions by when it took
        # them in has none "before" an older date (remark 2021: "No versions available for @types/mdast"). At
        # each date npm's own peer rules first: npm 6's leave peers out (markdown-it's rollup plugin lost @babel/core)
        dates = [f" --before={_stamp(day)}", f" --before={_stamp(later)}", ""]
        steps = [f"{_PLAIN}{when}{peers}" for when in dates for peers in ("", f" {LEGACY_PEERS}")]
    chain = _fallbacks(steps)
    if not unreachable:
        return chain
    names = " ".join(shlex.quote(n) for n in sorted(unreachable))
    keep = "cp package.json /tmp/swefarm-package.json"
    restore = "cp /tmp/swefarm-package.json package.json"
    return f"{keep} && node -e {shlex.quote(_PRUNE)} {names} && {{ {chain}; }} && {restore}"


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


#: Yarn 2+ settings for an install here: packages in node_modules whatever the project's linker (a runner
#: from node_modules/.bin, and code that reads node_modules, work as for npm), its cache in the project.
_BERRY_ENV = "YARN_NODE_LINKER=node-modules YARN_ENABLE_GLOBAL_CACHE=false YARN_ENABLE_TELEMETRY=0"


def _yarn_berry(root: Path, package: dict[str, Any]) -> str | None:
    """The install command of a Yarn 2+ project (its yarn.lock has `__metadata`), without its options: the
    project's own release (`yarnPath` in .yarnrc.yml, which the base's yarn 1 hands over to), else the release
    `packageManager` names from the npm registry (@yarnpkg/cli-dist); None for a yarn 1 project."""
    try:
        head = (root / "yarn.lock").read_text(errors="replace")[:2000]
    except OSError:
        return None
    if not re.search(r"^__metadata:", head, re.M):
        return None
    try:
        rc = (root / ".yarnrc.yml").read_text(errors="replace")
    except OSError:
        rc = ""
    path = re.search(r"^yarnPath:\s*['\"]?([^'\"\s]+)", rc, re.M)
    if path and (root / path.group(1)).is_file():
        return f"{_BERRY_ENV} yarn install"
    declared = str(package.get("packageManager", ""))
    version = declared.split("@", 1)[1].split("+", 1)[0] if declared.startswith("yarn@") else "4"
    return f"{_BERRY_ENV} npx --yes --package=@yarnpkg/cli-dist@{shlex.quote(version)} -- yarn install"


#: pnpm lockfile major versions the base's pnpm (9) cannot read, and the pnpm that wrote them.
_OLD_PNPM = {"5": "7", "6": "8"}


def _pnpm_for(lockfile: Path) -> str | None:
    """The pnpm major to install a pnpm-lock.yaml with, when the base's pnpm 9 cannot read it (v5: 7, v6: 8)."""
    try:
        head = lockfile.read_text(errors="replace")[:200]
    except OSError:
        return None
    match = re.search(r"^lockfileVersion:\s*['\"]?(\d+)", head, re.M)
    return _OLD_PNPM.get(match.group(1)) if match else None


def node_version(root: Path, package: dict[str, Any], created: date | None) -> tuple[str, str]:
    """(the Node version wanted, why): engines.node, .nvmrc, .node-version, else the LTS of the date."""
    on = created or date.today()
    lts = ([major for major, since in NODE_LTS if since <= on] or [NODE_LTS[0][0]])[-1]
    engines = _section(package, "engines")
    if spec := str(engines.get("node", "")).strip():
        floor = _lowest_major(spec)
        if spec.startswith(">") and "<" not in spec and floor and int(floor) <= int(lts):
            return lts, f"node {lts}: the LTS on {on.isoformat()}, within engines.node {spec!r}"
        return floor, f"node {spec!r} from engines.node"
    for name in (".nvmrc", ".node-version"):
        path = Path(root) / name
        if path.is_file() and (text := path.read_text(errors="replace").strip()):
            return _lowest_major(text), f"node {text!r} from {name}"
    return lts, f"node {lts}: the LTS on {on.isoformat()}"


def _lowest_major(spec: str) -> str:
    """The first major version a range names (`>=18`, `^18.17 || >=20` -> "18"; `lts/*`, `node` -> "")."""
    digits = "".join(ch if ch.isdigit() else " " for ch in spec).split()
    return digits[0] if digits else ""


def _section(package: dict[str, Any], key: str) -> dict[str, Any]:
    value = package.get(key)
    return value if isinstance(value, dict) else {}


def _dependencies(package: dict[str, Any]) -> dict[str, str]:
    deps: dict[str, str] = {}
    for key in DEPENDENCY_KEYS:
        if isinstance(package.get(key), dict):
            deps.update({str(k): str(v) for k, v in package[key].items()})
    return deps


#: Toolkits whose `test` command is a runner they depend on (the project names only the toolkit).
TOOLKITS = {"@borderless/ts-scripts": "vitest", "kcd-scripts": "jest", "react-scripts": "jest", "tsdx": "jest",
            "razzle": "jest", "@vue/cli-plugin-unit-jest": "jest", "aegir": "mocha"}  # fmt: skip


def test_runner(package: dict[str, Any], root: Path | None = None) -> tuple[str, str]:
    """(node | jest | vitest | mocha, why), from the `test` script, the dependencies, a toolkit that runs one
    (path-to-regexp's `ts-scripts test` runs vitest), then a runner's configuration file in `root`."""
    scripts = _section(package, "scripts")
    script = str(scripts.get("test", ""))
    deps = _dependencies(package)
    for runner in RUNNERS:
        if runner in script.split() or f"{runner} " in script or script.endswith(runner):
            return runner, f"runner {runner}: the test script runs it ({script!r})"
    if "node --test" in script:
        return "node", f"runner node --test: the test script runs it ({script!r})"
    for runner in RUNNERS:
        if runner in deps:
            return runner, f"runner {runner}: a dependency"
    for toolkit, runner in TOOLKITS.items():
        if toolkit in deps:
            return runner, f"runner {runner}: {toolkit} runs it"
    for runner in RUNNERS:
        patterns = [f"{runner}.config.*", *([".mocharc*"] if runner == "mocha" else [])]
        if root is not None and (configs := sorted(p.name for g in patterns for p in Path(root).glob(g))):
            return runner, f"runner {runner}: its configuration ({configs[0]})"
    return "node", "runner node --test: no jest, vitest or mocha in package.json"


test_runner.__test__ = False  # type: ignore[attr-defined]  # its name must not make pytest collect it


#: Folders a build writes to, when ignored by git (tsconfig's outDir counts whether ignored or not).
_OUTPUTS = ("dist", "build", "lib", "out", "es", "cjs", "esm")
#: Test files read when looking for imports of the build's output (a large suite is not read whole).
MAX_TEST_FILES = 2000


def tests_import_output(root: Path) -> str | None:
    """The build-output folder the project's test files import by a relative path (ajv's specs:
    `from "../dist/standalone/instance"`), when it is tsconfig's outDir or ignored by git; else None."""
    root = Path(root)
    try:
        ignored = {line.strip().strip("/") for line in (root / ".gitignore").read_text(errors="replace").splitlines()}
    except OSError:
        ignored = set()
    outputs = {o.rstrip("/") for o in out_dirs(root) if o} | {o for o in _OUTPUTS if o in ignored}
    if not outputs:
        return None
    names = "|".join(sorted(map(re.escape, outputs)))
    pattern = re.compile(r"""['"](?:\.\.?/)+(""" + names + r""")/""")
    tests = []
    for folder, dirs, files in os.walk(root):  # neither git's objects nor installed packages are walked
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules"))
        tests += [p for f in sorted(files) if is_js_test_file((p := Path(folder, f)).relative_to(root).as_posix())]
    for path in tests[:MAX_TEST_FILES]:
        try:
            if match := pattern.search(path.read_text(errors="replace")):
                return match.group(1)
        except OSError:
            continue
    return None


def infer_js_recipe(root: Path, task: Task | None = None):
    """How to build and test the JS/TS project checked out at `root` (a RecipeInference)."""
    from swefarm.harness.recipe import RecipeInference

    root = Path(root)
    package, notes = read_package(root)
    created = task.created_at.date() if task and task.created_at else None
    manager, lockfile, manager_reason = package_manager(root, package)
    node, node_reason = node_version(root, package, created)
    runner, runner_reason = test_runner(package, root)
    deps = _dependencies(package)
    unreachable = unreachable_dependencies(package)
    if unreachable and lockfile:
        notes.append(f"{lockfile} ignored: it pins dependencies from git hosts or URLs; resolved as of the date")
        lockfile, manager = None, "npm"
    install: list[str] = []
    day = task.created_at if task and task.created_at else None
    if deps or (package.get("workspaces") and lockfile):
        # a lockfile the registry no longer serves in full (a version unpublished, a 404) or that the tools here
        # cannot read: resolved as of the task's date instead, as without one
        dated = _dated_install(day, unreachable)
        # a dependency's install script that needs more than the registry (sharp's libvips from GitHub): the
        # locked tree without install scripts
        if lockfile == "pnpm-lock.yaml" and (pnpm := _pnpm_for(root / lockfile)):
            frozen = f"npx --yes pnpm@{pnpm} install --frozen-lockfile"
            install.append(_fallbacks([frozen, f"{frozen} {NO_SCRIPTS}", dated]))
            notes.append(f"pnpm-lock.yaml is older than pnpm 9 reads: pnpm {pnpm} from the registry installs it")
        elif lockfile == "package-lock.json" or lockfile == "npm-shrinkwrap.json":
            frozen = _FROZEN["npm"]
            steps = [frozen, f"{frozen} {LEGACY_PEERS}", f"{frozen} {LEGACY_PEERS} {NO_SCRIPTS}", dated]
            install.append(_fallbacks(steps))
        elif lockfile == "yarn.lock" and (berry := _yarn_berry(root, package)):
            install.append(_fallbacks([f"{berry} --immutable", f"YARN_ENABLE_IMMUTABLE_INSTALLS=false {berry}", dated]))
            notes.append("yarn 2+ (yarn.lock's __metadata): installed into node_modules, Plug'n'Play or not")
        elif lockfile:
            install.append(_fallbacks([_FROZEN[manager], f"{_FROZEN[manager]} {NO_SCRIPTS}", dated]))
        else:
            install.append(dated)
            if unreachable:
                names = ", ".join(f"{n} ({s})" for n, s in sorted(unreachable.items()))
                notes.append(f"left out of the install, only a git host or URL serves them: {names}")
            manager = "npm"
    compiles_itself = runner in ("jest", "vitest") or any(d in deps for d in ("ts-node", "tsx", "@swc/register"))
    build = pretest_builds(package)
    if build:
        notes.append(f"the project compiles before its tests (pretest): `{' && '.join(build)}` before every run")
    elif (script := build_script(package)) and (imported := tests_import_output(root)):
        build = [f"{_RUN[manager]} {script}"]
        notes.append(f"the tests import the build's output ({imported}/): `{build[0]}` before every run")
    elif "typescript" in deps and script and not compiles_itself:
        build = [f"{_RUN[manager]} {script}"]
        notes.append(f"the tests run compiled TypeScript: `{build[0]}` before every run")
    options, script_env = runner_options(package, runner, root)
    compiled = compiled_tests(root, package) if build else {}
    if compiled:
        where = ", ".join(f"{source or './'}* as {out}*" for source, out in compiled.items())
        notes.append(f"the tests run compiled: {where}")
    env = Environment(
        node=node or None,
        install=install,
        log_parser=runner,
        test_command=runner,
        build=build,
        runner_options=options,
        compiled_tests=compiled,
        test_files=task.test_files() if task else [],
        env_vars={**script_env, "CI": "true"},
    )
    from swefarm.sandbox.node_bases import node_base_for

    base = node_base_for(node)
    if base.node != node:
        notes.append(f"node {node or '(any)'} has no base here; using {base.node}")
    env = env.model_copy(update={"node": base.node})
    return RecipeInference(
        environment=env, python_reason=node_reason, notes=[node_reason, manager_reason, runner_reason, *notes]
    )
