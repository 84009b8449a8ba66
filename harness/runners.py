"""Shell commands that run only chosen tests, for each test runner a task can use.

    test_command("pytest", ["tests/x.py::test_a[p 1]"])   # node ids or test files
    test_command("django", ["test_foo (app.tests.FooTests)"], files=["tests/app/tests.py"])
    test_command("sympy", ["test_foo"], files=["sympy/core/tests/test_basic.py"])
    test_command("unittest", ["test_a (pkg.test_mod.ATests)"])

Every command runs from the repository root and writes its report to stdout and stderr (read
both). Long lists: a command is passed to `bash -c` as one argument, which Linux caps at 128 KiB,
so above MAX_COMMAND_CHARS the tests are widened, never dropped: pytest runs the files of the node
ids (deduplicated; this works with every pytest version, unlike pytest >= 8.2's `@file` arguments,
and needs no file written first), Django and unittest run the tests' classes, then their modules,
sympy runs its `files` without `-k`. Tests outside the list may then run too; they are reported
and simply not looked at.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

DEFAULT_JUNIT = "/tmp/swefarm-junit.xml"
MAX_COMMAND_CHARS = 100_000

#: The log parser that reads each runner's output.
DEFAULT_PARSER = {"pytest": "pytest", "django": "django", "sympy": "sympy", "unittest": "unittest"}
#: JavaScript/TypeScript runners (harness/runners_js.py): each writes a structured report its parser reads.
DEFAULT_PARSER.update(node="node", jest="jest", vitest="vitest", mocha="mocha")

_PYTEST = "python -m pytest -rA -p no:cacheprovider -o junit_family=xunit1 --continue-on-collection-errors"
_DJANGO = "./tests/runtests.py --verbosity 2 --noinput --parallel 1"
# a warning printed mid-line splits the verbose line of the test that raised it (SWE-bench sets the same)
_SYMPY = "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose"
_UNITTEST = "python -m unittest -v"
#: Above this many pytest node ids, the files run with the ids selected by a plugin: pytest before 3.3
#: collects a module again for every id given on the command line (inspect reads the file for each
#: function), so hundreds of ids from one file took dateutil 2017's runs past the hour.
MANY_IDS = 40
# Keeps the listed node ids (an id that matches no item exactly keeps the items beneath it: a file, a
# class, or an id a dataset cut at a space) and deselects the rest, so that the exit code is theirs alone.
_SELECT_PLUGIN = """import os


def _id(item):  # pytest < 4 puts the class's instance in the id of a method: a.py::Class::()::test_x
    return item.nodeid.replace("::()", "")


def pytest_collection_modifyitems(config, items):
    with open(os.environ["SWEFARM_SELECT"]) as f:
        wanted = [line.rstrip("\\n") for line in f if line.strip()]
    exact = set(wanted) & {_id(item) for item in items}
    prefixes = tuple(w for w in wanted if w not in exact)
    keep = [i for i in items if _id(i) in exact or (prefixes and _id(i).startswith(prefixes))]
    kept = {id(i) for i in keep}
    dropped = [i for i in items if id(i) not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
"""
_NAME = re.compile(r"^(?P<method>\w+) \((?P<where>[\w.]+)\)")
_DOTTED = re.compile(r"^\w+(\.\w+)*$")
_FIXTURES = ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule")


class CommandTooLongError(ValueError):
    """Even widened to whole files or modules, the tests do not fit in one shell command."""


def runner_of(parser: str) -> str:
    """The runner whose output `parser` reads (a parser name that is no runner's default: pytest)."""
    return next((runner for runner, name in DEFAULT_PARSER.items() if name == parser), "pytest")


def test_command(
    runner: str,
    tests: Sequence[str],
    junit_path: str = DEFAULT_JUNIT,
    *,
    files: Sequence[str] = (),
    options: Sequence[str] = (),
    build: Sequence[str] = (),
    compiled: dict[str, str] | None = None,
) -> str:
    """The shell command that runs only `tests` with `runner` (pytest, django, sympy or unittest).

    pytest: node ids or paths; the JUnit XML report goes to `junit_path` (removed first, so a stale
    or planted file is never read). If pytest rejects the ids (exit code 4, e.g. an id that no longer
    exists or that SWE-bench cut at a space), the command runs their files instead.
    django / unittest: `test_foo (app.tests.FooTests)` (either Python's spelling) or dotted labels;
    with `files`, their modules run instead (which ids name loadable tests cannot be told from the
    ids: see _labels). Ids that name no test (Django docstring lines in SWE-bench's lists) need `files`.
    sympy: bare names (`test_foo`), `path::test_foo` or test file paths; `files` limits the run to
    those files (without any, bin/test scans the whole suite).
    `options` go right after the runner's own command (grading names pytest's plugins there).
    node, jest, vitest, mocha (JavaScript): `FILE::TITLE` ids (harness/runners_js.py), the report written to
    `junit_path`, after the `build` commands (a TypeScript build the tests need); `options` are the project's
    own for its runner, `compiled` maps TypeScript test sources to the outDir they run from.
    """
    tests = list(dict.fromkeys(tests))
    if not tests:
        raise ValueError("no tests to run: an empty list would run the whole suite")
    if runner in DEFAULT_PARSER and DEFAULT_PARSER[runner] in ("node", "jest", "vitest", "mocha"):
        from swefarm.harness.runners_js import js_command

        return js_command(runner, tests, junit_path, build=build, options=options, compiled=compiled)
    extra = f" {_join(options)}" if options else ""
    if runner == "pytest":
        return _pytest(tests, junit_path, extra)
    builders = {"django": _django, "sympy": _sympy, "unittest": _unittest}
    if runner not in builders:
        raise ValueError(f"unknown test runner {runner!r}; known: pytest, {', '.join(builders)}")
    return builders[runner](tests, list(files), extra)


def _fits(command: str) -> bool:
    return len(command) <= MAX_COMMAND_CHARS


def _join(words: Sequence[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)


def _pytest(tests: list[str], junit_path: str, extra: str = "") -> str:
    base = f"rm -f {shlex.quote(junit_path)}; {_PYTEST}{extra} --junitxml={shlex.quote(junit_path)}"
    paths = list(dict.fromkeys(t.split("::", 1)[0] for t in tests))
    by_file = f"{base} {_join(paths)}"
    if not _fits(by_file):
        raise CommandTooLongError(f"{len(paths)} test files do not fit in one command")
    if paths == tests:
        return by_file
    if len(tests) > MANY_IDS:
        selected = _pytest_selected(tests, paths, junit_path, extra)
        return selected if _fits(selected) else by_file
    note = "echo 'swefarm: pytest rejected the test ids (exit code 4); running their files' >&2"
    by_id = f"{base} {_join(tests)}"
    command = f'{by_id}; rc=$?; if [ "$rc" -eq 4 ]; then {note}; {by_file}; else (exit "$rc"); fi'
    return command if _fits(command) else by_file


def _pytest_selected(tests: list[str], paths: list[str], junit_path: str, extra: str = "") -> str:
    """The files, collected once each, with the listed ids kept by a small plugin (the rest deselected).

    The plugin and the list go to a new directory (mktemp), never to a path the agent could have planted."""
    plugin = "d=$(mktemp -d /tmp/swefarm-select.XXXXXX) && cat > \"$d/swefarm_select.py\" <<'SWEFARM_PLUGIN'\n"
    run = (f"[ -s \"$d/swefarm_select.py\" ] && printf '%s\\n' {_join(tests)} > \"$d/ids.txt\" && "
           f"rm -f {shlex.quote(junit_path)} && PYTHONPATH=\"$d${{PYTHONPATH:+:$PYTHONPATH}}\" "
           f"SWEFARM_SELECT=\"$d/ids.txt\" {_PYTEST}{extra} -p swefarm_select --junitxml={shlex.quote(junit_path)} "
           f"{_join(paths)}")  # fmt: skip
    return f"{plugin}{_SELECT_PLUGIN}SWEFARM_PLUGIN\n{run}"


def dotted_label(test_id: str) -> str | None:
    """`test_foo (app.tests.FooTests[.test_foo])` or `app.tests.FooTests.test_foo` -> the dotted label."""
    if match := _NAME.match(test_id):
        where, method = match["where"], match["method"]
        if where.endswith("." + method) or method in _FIXTURES:
            return where  # Python 3.11+'s spelling, or a class fixture: run the class
        return f"{where}.{method}"
    return test_id if _DOTTED.match(test_id) else None


def _labels(tests: list[str], file_labels: list[str], what: str) -> list[str]:
    """The files' modules when there are any, else the tests' own dotted labels.

    With files, only their modules run, as SWE-bench runs them: the ids found in those modules' output
    are all that lists hold, and an id is not always a name the loader can take: a doctest a module's
    `load_tests` adds prints as `adjacent (pkg.more)`, and `python -m unittest pkg.more.adjacent`
    calls that function and aborts before running any test.
    """
    if file_labels:
        return _dedupe(file_labels)
    labels = [dotted_label(t) for t in tests]
    unnamed = [t for t, label in zip(tests, labels, strict=True) if label is None]
    if unnamed:
        example = unnamed[0]
        raise ValueError(f"{len(unnamed)} {what} ids name no test (e.g. {example!r}); pass files= to run their modules")
    return _dedupe([label for label in labels if label])


def _dedupe(labels: list[str]) -> list[str]:
    """Labels in their first order, without repeats or labels inside another one (`a.b.C.test` under `a.b`)."""
    wanted = set(labels)
    kept: list[str] = []
    for label in dict.fromkeys(labels):
        parts = label.split(".")
        if not any(".".join(parts[:i]) in wanted for i in range(1, len(parts))):
            kept.append(label)
    return kept


def _widened(base: str, labels: list[str]) -> str:
    """`base labels`, widening labels to their classes, then modules, until the command fits."""
    for cut in range(3):
        wider = _dedupe([label.rsplit(".", cut)[0] if label.count(".") > cut else label for label in labels])
        if _fits(command := f"{base} {_join(wider)}"):
            return command
    raise CommandTooLongError(f"{len(labels)} test labels do not fit in one command, even as modules")


def module_labels(runner: str, files: Sequence[str]) -> list[str]:
    """Test files as the dotted module labels Django's runtests.py (relative to tests/) or unittest take."""
    py = [f for f in files if f.endswith(".py")]
    if runner == "django":
        return [f.removeprefix("tests/").removesuffix(".py").replace("/", ".") for f in py if f.startswith("tests/")]
    return [f.removesuffix(".py").replace("/", ".") for f in py]


def _django(tests: list[str], files: list[str], extra: str = "") -> str:
    return _widened(_DJANGO + extra, _labels(tests, module_labels("django", files), "Django"))


def _unittest(tests: list[str], files: list[str], extra: str = "") -> str:
    return _widened(_UNITTEST + extra, _labels(tests, module_labels("unittest", files), "unittest"))


def _sympy(tests: list[str], files: list[str], extra: str = "") -> str:
    paths, names, whole_files = list(files), [], False
    for test in tests:
        if "::" in test:
            path, name = test.split("::", 1)
        elif ".py:" in test:
            path, name = test.rsplit(":", 1)
        else:
            path, name = (test, "") if test.endswith(".py") else ("", test)
            whole_files = whole_files or bool(path)
        paths += [path] if path else []
        names += [name] if name else []
    paths, names = list(dict.fromkeys(paths)), list(dict.fromkeys(names))
    command = f"{_SYMPY}{extra} {_join(paths)}".rstrip()
    if not names or whole_files:
        return command  # a whole file asked for: -k would filter it too
    if _fits(with_names := f"{command} -k {_join(names)}"):
        return with_names  # -k takes every word after it, so it comes last
    if not paths:
        raise CommandTooLongError(f"{len(names)} sympy test names do not fit in one command; pass files=")
    return command


test_command.__test__ = False  # type: ignore[attr-defined]  # its name must not make pytest collect it
