"""What grading hands to root before the tests run: everything the runner reads besides the agent's source.

The tests run as the agent's uid, and so does the code under test they import. Were
the test files that uid's, that code could rewrite a test module the runner has not
read yet (or plant its bytecode, or a conftest.py beside it), run the runner again,
and put everything back at exit, leaving no trace. So before the run the sandbox's
command server (`Sandbox.seal`) makes these root's and read-only to that uid:

- `tree`: every test directory (`test`, `tests`, `testing`, `e2e`, as harness/protect.py
  names them, unless the task's own fix changes it) with all it holds: its directories
  0555, so nothing new can appear in them either (a module that shadows a test module,
  a conftest.py, a `__pycache__`);
- `file`: the test patch's files, the target test files with their canaries, and the
  files protect.py keeps at the base commit (conftest.py and pytest/tox/setuptools
  configuration at every depth, `bin/test`, `sitecustomize`/`usercustomize`, `.pth`);
- `sticky`: the directories above them and the repository's `sys.path` roots: root's,
  mode 1777, so tests may still write new files there (the repository root is the
  runner's working directory) but nothing root's can be renamed or deleted;
- `placeholder`: an empty root-owned directory where a file the runner would read at
  its next start is missing (conftest.py, pytest.ini and pytest's other own
  configuration files above the tests, for pytest 6 and later, which skip a
  directory there; `sitecustomize.py` on a `sys.path` root; `__pycache__` beside
  sealed modules), so none can be created.

The agent's source stays its own. The read-only root filesystem already keeps the
environment's site-packages and the runner's plugins out of reach.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from swefarm.harness.protect import CONFIG_FILES, RUNNER_SCRIPTS, STARTUP_FILES, TEST_DIRS

#: Files whose absence a placeholder keeps: pytest alone reads these at start in each directory above the tests
#: (tox.ini, setup.cfg and pyproject.toml are other tools' too, and some read a directory of that name as a file).
PYTEST_START_FILES = ("conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml")
#: Imported at interpreter start from a `sys.path` root.
STARTUP_NAMES = tuple(sorted(STARTUP_FILES))
#: pytest from this version on skips a directory where it looks for conftest.py and its configuration files.
PLACEHOLDER_PYTEST = (6, 0)


def plan(
    tree: Iterable[str],
    test_files: Iterable[str],
    fix_dirs: Iterable[str] = (),
    roots: Iterable[str] = ("",),
    pytest_version: tuple[int, ...] | None = None,
) -> list[tuple[str, str]]:
    """The seal entries (path, kind) for a checked-out tree (`tree`: every path in it, directories too), in the
    order the server applies them: trees and files, then sticky directories, then placeholders."""
    paths = set(tree)
    dirs = {""} | {d for p in paths for d in _ancestors(p)}
    fixes = set(fix_dirs)
    trees = _test_trees(dirs, fixes)
    inside = _under_any(trees)
    files = {p for p in paths | set(test_files) if p not in dirs and not inside(p) and _read_by_runner(p)}
    files |= {p for p in test_files if p not in dirs and not inside(p)}
    sticky = {d for p in trees | files for d in _ancestors(p)}
    path_roots = {r for r in roots if r in dirs and not inside(r)}
    sticky |= path_roots | {a for r in path_roots for a in _ancestors(r)}
    sticky = {d for d in sticky if not inside(d)}
    holders: set[str] = set()
    for folder in sticky:
        if any(posixpath.dirname(f) == folder and f.endswith(".py") for f in files):
            holders.add(_join(folder, "__pycache__"))
    if pytest_version is not None and pytest_version >= PLACEHOLDER_PYTEST:
        above_tests = {d for p in trees | {f for f in test_files if f in files} for d in _ancestors(p)} & sticky
        holders |= {_join(d, name) for d in above_tests for name in PYTEST_START_FILES}
    holders |= {_join(r, name) for r in path_roots for name in STARTUP_NAMES}
    holders -= paths
    entries = [(t, "tree") for t in sorted(trees)] + [(f, "file") for f in sorted(files)]
    entries += [(d, "sticky") for d in sorted(sticky, key=lambda d: (d.count("/"), d))]
    return entries + [(h, "placeholder") for h in sorted(holders)]


def _read_by_runner(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in CONFIG_FILES or path in RUNNER_SCRIPTS or name in STARTUP_FILES or name.lower().endswith(".pth")


def _test_trees(dirs: set[str], fixes: set[str]) -> set[str]:
    """The topmost test directories the task's fix does not change."""
    found = {
        folder
        for folder in dirs
        if folder
        and folder.rsplit("/", 1)[-1].lower() in TEST_DIRS
        and not any(f == folder or f.startswith(folder + "/") for f in fixes)
    }
    return {d for d in found if not any(d.startswith(o + "/") for o in found)}


def _under_any(trees: set[str]):
    def inside(path: str) -> bool:
        return any(path == t or path.startswith(t + "/") for t in trees)

    return inside


def _ancestors(path: str) -> list[str]:
    """The directories above `path`, the repository root ("") included."""
    parts = path.split("/")[:-1]
    return [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
