"""Which of the agent's changed paths reach grading, and which are put back as they were at the base commit.

The paths come from trees (the agent's diff applied to an index, compared with the
base commit), never from diff text. A path is dropped, with the reason recorded,
when it can change how tests are found, run or reported rather than what they test:

- `test_file`: a file of the test patch, or a file holding a target test;
- `test_dir`: anything under a test directory (`test`, `tests`, `testing`, `e2e`):
  the test patch alone decides what is there, so a new `tests/__init__.py`, a helper
  made lenient, a deleted or renamed test all go;
- `config`: pytest, tox, setuptools and project configuration and `conftest.py`, at
  every depth (a nested `pytest.ini` moves pytest's rootdir);
- `startup`: `sitecustomize`, `usercustomize` and `.pth` files, which Python runs at start;
- `compiled`: bytecode (`*.pyc`, `__pycache__/`) and native extension modules;
- `metadata`: `*.dist-info`, `*.egg-info`, `*.egg-link`: entry points (pytest plugins) load from them;
- `shadowing`: a new top-level module, on the repository's `sys.path` roots, named like a
  module of the runner, its plugins, their dependencies or the standard library;
- `special`: submodules (gitlinks) and symbolic links that point outside the repository.

JavaScript/TypeScript tasks (`Context.language`) add, in the same terms:

- `test_dir`: also `__tests__`, `spec`, `specs`, `__mocks__` (jest's manual mocks replace modules);
- `config`: the runners' and compilers' configuration at every depth (jest, vitest and vite, mocha,
  babel, TypeScript's tsconfig, `package.json` with its `test` script and its `jest`/`mocha`
  sections, npm, yarn and pnpm settings and lockfiles, `.nvmrc`) and test set-up files by name;
- `startup`: what node loads before any module (`.pnp.cjs`, `.pnp.loader.mjs`: Yarn's resolver);
- `shadowing`: anything under a `node_modules` directory, at any depth (node resolves a module from the
  nearest one, so a planted `test/node_modules/assert` or `node_modules/jest` would replace the real one).

A directory the task's own fix changes is never treated as a test directory, so the gold patch always reaches grading.
"""

from __future__ import annotations

import posixpath

TEST_DIRS = frozenset({"test", "tests", "testing", "e2e"})
CONFIG_FILES = frozenset(
    {"conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"}
    | {"tox.ini", "setup.cfg", "pyproject.toml"}
)
STARTUP_FILES = frozenset({"sitecustomize.py", "usercustomize.py"})
RUNNER_SCRIPTS = frozenset({"bin/test"})  # sympy's runner; Django's tests/runtests.py sits in a test directory
COMPILED_SUFFIXES = (".pyc", ".pyo", ".pyd", ".so", ".dylib")
METADATA_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".egg")
GITLINK, SYMLINK = "160000", "120000"
JS_TEST_DIRS = frozenset({"__tests__", "spec", "specs", "__mocks__"})
#: Configuration of JS runners, compilers and package managers, by name (any extension: .js, .cjs, .mjs, .ts, .json...).
JS_CONFIG_STEMS = ("jest.config", "vitest.config", "vitest.workspace", "vite.config", "babel.config", "tsconfig",
                   "jsconfig", "karma.conf", "ava.config", "jest.setup", "jest.preset", "vitest.setup", "setuptests",
                   "test-setup", "setup-tests")  # fmt: skip
JS_CONFIG_FILES = frozenset(
    {"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "pnpm-workspace.yaml"}
    | {".npmrc", ".yarnrc", ".yarnrc.yml", ".nvmrc", ".node-version", ".babelrc", ".swcrc", "lerna.json", "nx.json"}
)
JS_STARTUP_FILES = frozenset({".pnp.cjs", ".pnp.js", ".pnp.loader.mjs"})


class Context:
    """What the policy knows of the task and its environment.

    A plain class, not a dataclass: this module runs in the task container at every grading
    (harness/ingit.py), where importing `dataclasses` (and `inspect` with it) costs more than
    everything else the policy does."""

    def __init__(
        self,
        test_paths: set[str] | None = None,
        target_files: set[str] | None = None,
        fix_dirs: set[str] | None = None,
        language: str = "python",
        modules: frozenset[str] = frozenset(),
        roots: tuple[str, ...] = ("",),
        base_names: dict[str, set[str]] | None = None,
        symlink_targets: dict[str, str] | None = None,
    ) -> None:
        self.test_paths = set() if test_paths is None else test_paths
        self.target_files = set() if target_files is None else target_files
        self.fix_dirs = set() if fix_dirs is None else fix_dirs
        self.language = language
        self.modules = modules
        self.roots = roots
        self.base_names = {} if base_names is None else base_names
        self.symlink_targets = {} if symlink_targets is None else symlink_targets


def drop_reason(entry: dict, ctx: Context) -> str | None:
    """Why the changed path `entry` (status, old_mode, new_mode, path) is put back, or None to keep it."""
    path = entry["path"]
    parts = path.split("/")
    name = parts[-1]
    low = name.lower()
    if path in ctx.test_paths or path in ctx.target_files:
        return "test_file"
    if ctx.language != "python" and (reason := _js_reason(parts, low, ctx)):
        return reason
    if _in_test_dir(parts, ctx):
        return "test_dir"
    if name in CONFIG_FILES or path in RUNNER_SCRIPTS:
        return "config"
    if name in STARTUP_FILES or low.endswith(".pth"):
        return "startup"
    if "__pycache__" in parts or low.endswith(COMPILED_SUFFIXES) or ".so." in low:
        return "compiled"
    if any(part.lower().endswith(METADATA_SUFFIXES) for part in parts):
        return "metadata"
    if GITLINK in (entry.get("new_mode"), entry.get("old_mode")):
        return "special"
    if entry.get("new_mode") == SYMLINK and _escapes(path, ctx.symlink_targets.get(path)):
        return "special"
    if entry.get("status") != "D" and _shadows(parts, ctx):
        return "shadowing"
    return None


def split(entries: list[dict], ctx: Context) -> tuple[list[dict], dict[str, str]]:
    """The entries kept, and {dropped path: reason}."""
    kept, dropped = [], {}
    for entry in entries:
        reason = drop_reason(entry, ctx)
        if reason is None:
            kept.append(entry)
        else:
            dropped[entry["path"]] = reason
    return kept, dropped


def _in_test_dir(parts: list[str], ctx: Context, names: frozenset[str] = TEST_DIRS) -> bool:
    for i, part in enumerate(parts[:-1]):
        if part.lower() in names:
            here = "/".join(parts[: i + 1])
            if not any(d == here or d.startswith(here + "/") for d in ctx.fix_dirs):
                return True
    return False


def _js_reason(parts: list[str], low: str, ctx: Context) -> str | None:
    if "node_modules" in parts:
        return "shadowing"
    if _in_test_dir(parts, ctx, JS_TEST_DIRS):
        return "test_dir"
    if low in JS_CONFIG_FILES or low.startswith(".mocharc") or low.startswith(JS_CONFIG_STEMS):
        return "config"
    return "startup" if low in JS_STARTUP_FILES else None


def _escapes(path: str, target: str | None) -> bool:
    """A symbolic link at `path` to `target` reaches outside the repository (or its target is unknown)."""
    if target is None or target.startswith("/"):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return joined == ".." or joined.startswith("../")


def _shadows(parts: list[str], ctx: Context) -> bool:
    """A path that adds a top-level module on a `sys.path` root, named like one the runner can import."""
    for root in ctx.roots:
        prefix = root.split("/") if root else []
        if parts[: len(prefix)] != prefix or len(parts) <= len(prefix):
            continue
        first = parts[len(prefix)]
        module = first.split(".", 1)[0] if len(parts) == len(prefix) + 1 else first
        if module in ctx.modules and first not in ctx.base_names.get(root, set()):
            return True
    return False


def module_files(runner: str, test_ids: list[str], test_paths: list[str]) -> set[str]:
    """The files that hold the target tests, as far as their ids say (pytest ids name them; others by module)."""
    from swefarm.harness.runners import dotted_label, module_labels

    if runner in ("pytest", "sympy"):
        return {t.split("::", 1)[0] for t in test_ids if "::" in t}
    labels = [dotted_label(t) or "" for t in test_ids]
    files = set()
    for path in test_paths:
        module = next(iter(module_labels(runner, [path])), None)
        if module and any(label == module or label.startswith(module + ".") for label in labels):
            files.add(path)
    return files
