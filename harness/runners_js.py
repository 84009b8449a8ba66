"""Shell commands that run chosen JavaScript/TypeScript tests and write a structured report.

    js_command("node", ["test/slug.test.js::slugify > drops accents"], "/tmp/report")
    js_command("jest", ["src/a.test.ts::parse > reads a date"], "/tmp/report")   # vitest, mocha alike

A JS test id is `FILE::TITLE`, FILE relative to the repository root and TITLE the names of the
enclosing `describe` blocks and the test joined by " > " (as the parsers in
harness/parsers/js_reports.py write them). The files of the ids run, filtered by the tests'
names (node: each leaf name, exactly; jest, vitest and mocha: the full names, which they match
against the suites' and test's titles joined by spaces); tests outside the list may run too,
and are reported and not looked at. Above MAX_COMMAND_CHARS the name filter is left out (the
files run whole), never a test. Runners are the project's own (`node_modules/.bin`), so the
network is never needed; the report goes to `report_path` (removed first, so a planted or stale
report is never read). node's report comes from a small reporter of swefarm's (NODE_REPORTER),
written to a new directory (mktemp) that nothing of the project's can have planted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from swefarm.harness.recipe_js_scripts import compiled_path
from swefarm.harness.runners import MAX_COMMAND_CHARS

JS_RUNNERS = ("node", "jest", "vitest", "mocha")
#: The title separator in JS test ids.
SEP = " > "
#: node --test's reporter: one JSON line a test, `{"file", "name", "status"}` (status: passed, failed, error,
#: skipped); a file that does not load is a line with its name "". Names are the describe chain joined by SEP.
NODE_REPORTER = r"""import { relative } from "node:path";

export default async function* swefarmReport(source) {
  const stacks = new Map();
  for await (const event of source) {
    const data = event.data || {};
    const file = data.file ? relative(process.cwd(), data.file) : "";
    if (event.type === "test:start") {
      const stack = stacks.get(file) || [];
      stack.length = data.nesting;
      stack.push(data.name);
      stacks.set(file, stack);
      continue;
    }
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const details = data.details || {};
    const kind = (details.error && (details.error.failureType || (details.error.cause || {}).failureType)) || "";
    if (details.type === "suite" && (event.type === "test:pass" || kind === "subtestsFailed")) continue;
    let status = "passed";
    if (event.type === "test:fail") status = kind === "hookFailed" || details.type === "suite" ? "error" : "failed";
    else if (data.skip !== undefined || data.todo !== undefined) status = "skipped";
    const whole = data.nesting === 0 && data.file && data.name === data.file;
    const names = whole ? [] : [...(stacks.get(file) || []).slice(0, data.nesting), data.name];
    if (whole && status === "failed") status = "error";
    yield JSON.stringify({ file, name: names.join(" > "), status }) + "\n";
  }
}
"""
#: mocha's reporter: its json reporter's shape (`tests`, `pending`, `failures`, each `{title, fullTitle, file}`),
#: written to $SWEFARM_MOCHA_REPORT with the events every mocha since 2 emits (the json reporter's `output`
#: option came in mocha 9: before it the report went to stdout, among what the tests print).
MOCHA_REPORTER = r""""use strict";
const fs = require("fs");

module.exports = function SwefarmReport(runner) {
  const tests = [], pending = [], failures = [];
  const row = (t) => ({
    title: t.title,
    fullTitle: typeof t.fullTitle === "function" ? t.fullTitle() : t.title,
    file: t.file || (t.parent && t.parent.file) || "",
  });
  runner.on("pass", (t) => tests.push(row(t)));
  runner.on("pending", (t) => pending.push(row(t)));
  runner.on("fail", (t) => {
    failures.push(row(t));
    if (t.type !== "hook") tests.push(row(t));
  });
  runner.once("end", () => {
    fs.writeFileSync(process.env.SWEFARM_MOCHA_REPORT, JSON.stringify({ tests, pending, failures }));
  });
};
"""
_BIN = "./node_modules/.bin/"


#: Extensions of JavaScript and TypeScript sources.
JS_SOURCES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_TEST_NAME = re.compile(r"(^|[./_-])(test|tests|spec)[./_-]|(^|/)(test|tests|__tests__|spec)/")


def is_js_test_file(path: str) -> bool:
    """A JS/TS file named or placed like a test (`*.test.ts`, `*.spec.js`, `test/*.js`, `__tests__/*`), not a
    declaration file, fixture or snapshot."""
    low = path.lower()
    if not low.endswith(JS_SOURCES) or low.endswith(".d.ts") or "/fixtures/" in f"/{low}" or "node_modules/" in low:
        return False
    return bool(_TEST_NAME.search(low))


def split_id(test_id: str) -> tuple[str, str]:
    """`FILE::TITLE` -> (FILE, TITLE); an id without `::` is a whole file (TITLE "")."""
    file, _, title = test_id.partition("::")
    return file, title


def js_command(
    runner: str,
    tests: Sequence[str],
    report_path: str,
    build: Sequence[str] = (),
    options: Sequence[str] = (),
    compiled: dict[str, str] | None = None,
) -> str:
    """The command that runs `tests` with `runner` (node, jest, vitest, mocha), the report at `report_path`.

    `build` runs first (a TypeScript build the tests need); if it fails the tests do not run, and the
    command exits 2 with no report. `options` are the project's own for its runner (mocha's `--require
    ts-node/register`); with `compiled` ({source prefix: outDir prefix}) a TypeScript test file runs as its
    compiled file (the report names the compiled file: harness/recipe_js_scripts.source_path maps it back)."""
    tests = list(dict.fromkeys(tests))
    if not tests:
        raise ValueError("no tests to run: an empty list would run the whole suite")
    if runner not in JS_RUNNERS:
        raise ValueError(f"unknown JS test runner {runner!r}; known: {', '.join(JS_RUNNERS)}")
    files = list(dict.fromkeys(compiled_path(split_id(t)[0], compiled or {}) for t in tests))
    titles = [split_id(t)[1] for t in tests]
    # a whole file asked for: a name filter would cut it; a title with a NUL, which no command line can hold
    whole = any(not title or "\x00" in title for title in titles)
    report = shlex.quote(report_path)
    prefix = f"rm -f {report}; "
    if build:
        prefix += "{ " + " && ".join(build) + " ; } >&2 || { echo 'swefarm: the build step failed' >&2; exit 2; }; "
    opts = "".join(f" {shlex.quote(o)}" for o in options)
    command = ""
    for names in ([] if whole else [titles], []):  # with the name filter, else without it
        command = prefix + _BUILDERS[runner](files, names[0] if names else [], report, opts)
        if len(command) <= MAX_COMMAND_CHARS:
            return command
    if len(command) > MAX_COMMAND_CHARS:
        raise ValueError(f"{len(files)} test files do not fit in one command")
    return command


def _join(words: Sequence[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)


def _node(files: list[str], titles: list[str], report: str, options: str = "") -> str:
    leaves = sorted({t.rsplit(SEP, 1)[-1] for t in titles})
    patterns = "".join(f" --test-name-pattern={shlex.quote('^' + re.escape(leaf) + '$')}" for leaf in leaves)
    return (
        "d=$(mktemp -d /tmp/swefarm-node.XXXXXX) && cat > \"$d/report.mjs\" <<'SWEFARM_REPORTER'\n"
        f"{NODE_REPORTER}SWEFARM_REPORTER\n"
        f'[ -s "$d/report.mjs" ] && node{options} --test --test-reporter=spec --test-reporter-destination=stdout '
        f'--test-reporter="$d/report.mjs" --test-reporter-destination={report}{patterns} {_join(files)}'
    )


def _full_names(titles: list[str]) -> str:
    """One regular expression for the tests' full names (titles joined by spaces), anchored (vitest starts its
    names with the file's nameless suite: a space)."""
    return "^ ?(?:" + "|".join(re.escape(t.replace(SEP, " ")) for t in sorted(set(titles))) + ")$"


def _jest(files: list[str], titles: list[str], report: str, options: str = "") -> str:
    names = f" -t {shlex.quote(_full_names(titles))}" if titles else ""
    return f"{_BIN}jest{options} --ci --json --outputFile={report} --runTestsByPath{names} {_join(files)}"


def _vitest(files: list[str], titles: list[str], report: str, options: str = "") -> str:
    names = f" -t {shlex.quote(_full_names(titles))}" if titles else ""
    return f"{_BIN}vitest run{options} --reporter=default --reporter=json --outputFile={report}{names} {_join(files)}"


def _mocha(files: list[str], titles: list[str], report: str, options: str = "") -> str:
    names = f" --grep {shlex.quote(_full_names(titles))}" if titles else ""
    # mocha exits with the number of failures: with a report written, any such count is 1, as other runners say
    run = (
        "d=$(mktemp -d /tmp/swefarm-mocha.XXXXXX) && cat > \"$d/report.cjs\" <<'SWEFARM_REPORTER'\n"
        f"{MOCHA_REPORTER}SWEFARM_REPORTER\n"
        f'[ -s "$d/report.cjs" ] && SWEFARM_MOCHA_REPORT={report} {_BIN}mocha{options} --reporter "$d/report.cjs"'
        f"{names} {_join(files)}"
    )
    return f'{run}; rc=$?; if [ "$rc" -gt 1 ] && [ -s {report} ]; then rc=1; fi; (exit "$rc")'


_BUILDERS = {"node": _node, "jest": _jest, "vitest": _vitest, "mocha": _mocha}
