"""Canary tests for JavaScript/TypeScript runners, in each runner's own form (see harness/canaries.py for why).

Each canary is one top-level test appended to a target test file (no line of the file moves),
named from the words of the tests around it, with a known outcome: passing, failing by a
comparison, failing by an exception (JS runners report a thrown error as a failure, so both
are FAILED). It runs in the same process and module as the targets, so a runner or reporter
patched by the code under test reports it too:

    node    `require("node:test").test(...)` (CommonJS) or an `import { test as x } from "node:test"` (ESM)
    jest    the `test` global (`globalThis.test`)
    mocha   the `it` global (`globalThis.it`), or `test` under the TDD and QUnit interfaces
    vitest  an `import { test as x } from "vitest"` (vitest has no globals by default)

A file is ESM when its extension says so (.mjs, .mts) or it has top-level `import`/`export`
statements (TypeScript and transpiled test files); imports are hoisted, so one at the end of
the file is bound before any test runs. In TypeScript files a canary follows a `// @ts-ignore` line, so
a type checker (tsc before compiled tests, ts-jest) does not stop at its deliberate errors. Known limit,
as in Python: a set-up failure (a throwing `beforeEach`) is not planted, since runners disagree on what it reports.
"""

from __future__ import annotations

import json
import random
import re

from swefarm.harness.canaries import Canary, _fresh
from swefarm.harness.results import TestStatus

KINDS = ("pass", "assert", "raise")
_EXPECTED = {"pass": TestStatus.PASSED, "assert": TestStatus.FAILED, "raise": TestStatus.FAILED}
_FALLBACK_WORDS = ("value", "result", "parse", "empty", "default", "items", "order", "format", "check", "basic")
_TITLES = re.compile(r"""\b(?:it|test|describe)(?:\.\w+)?\s*\(\s*(['"`])((?:(?!\1).){1,120})\1""")
_WORD = re.compile(r"[A-Za-z][a-z0-9]+")
TS_FILES = (".ts", ".mts", ".cts", ".tsx")
_ESM = re.compile(r"^\s*(import\s[^(]|import\{|export\s)", re.M)


def plant(
    runner: str, sources: dict[str, bytes], targets: list[str], rng: random.Random
) -> tuple[list[Canary], dict[str, bytes]]:
    """A canary of each kind spread over `sources` (path -> bytes); returns them and the new file contents."""
    files = sorted(sources)
    if not files:
        return [], {}
    kinds = list(KINDS)
    rng.shuffle(kinds)
    taken = {w.decode("ascii", "ignore") for text in sources.values() for w in re.findall(rb"[\w$]+", text)}
    # no canary may take a test's name: its own title, or a full name as mocha and jest spell it (`group inner x`)
    titles = {t for text in sources.values() for t in _titles(text)}
    titles |= {t.split("::", 1)[-1].replace(" > ", " ") for t in targets}
    added: dict[str, list[str]] = {}
    planted = []
    for kind in kinds:
        path = rng.choice(files)
        words = _words(sources[path], targets)
        name = _fresh(lambda: " ".join(rng.sample(words, 3)), titles)  # noqa: B023  # called at once
        line = _line(runner, path, sources[path], kind, name, words, taken, rng)
        if path.endswith(TS_FILES):  # type-checked (tsc, ts-jest): `undefined.x()` must not stop the build
            added.setdefault(path, []).append("// @ts-ignore")
        added.setdefault(path, []).append(line)
        planted.append(Canary(f"{path}::{name}", path, kind, _EXPECTED[kind]))
    changed = {}
    for path, lines in added.items():
        text = sources[path]
        newline = b"\r\n" if b"\r\n" in text else b"\n"
        if text and not text.endswith(b"\n"):
            text += newline
        changed[path] = text + b"".join(line.encode() + newline for line in lines)
    return planted, changed


def _line(runner, path, source, kind, name, words, taken, rng) -> str:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    off = rng.randint(1, 9) if kind == "assert" else 0
    word = rng.choice(words)
    esm = _is_esm(path, source)
    imports: list[str] = []

    def alias() -> str:
        return _fresh(lambda: "".join(w.title() for w in rng.sample(words, 2)).lower() + "Case", taken)

    total = rng.choice([(f"{a} + {b}", a + b), (f"{a} * {b}", a * b)])
    if kind == "raise":
        body = rng.choice([f"JSON.parse({json.dumps('{' + word)});", f"undefined.{word}();", f"null[{word!r}];"])
    else:
        check = _assertion(runner, source.decode("utf-8", "replace"), esm, alias, imports, path.endswith(TS_FILES))
        body = check(total[0], total[1] + off)
    call = f"({json.dumps(name)}, () => {{ {body} }});"
    if runner == "jest":
        test = "globalThis.test"
    elif runner == "mocha":  # `it` in mocha's BDD interface, `test` in its TDD and QUnit ones
        test = "(globalThis.it || globalThis.test)"
    elif runner == "node" and not esm:
        test = 'require("node:test").test'
    else:
        test = alias()
        imports.append(
            f"import {{ test as {test} }} from {json.dumps('vitest' if runner == 'vitest' else 'node:test')};"
        )
    return " ".join([*imports, test + call])


#: Node's assertion modules, bound whole (`const assert = require("node:assert/strict")`, `import assert from ...`).
_ASSERT_MODULE = re.compile(
    r"""(?:\b(?:const|let|var)\s+(?P<cjs>[\w$]+)\s*=\s*require\(\s*['"](?P<cmod>(?:node:)?assert(?:/strict)?)['"]\s*\)"""
    r"""(?P<strict>\.strict)?|^\s*import\s+(?:\*\s+as\s+)?(?P<esm>[\w$]+)\s+from\s+['"](?P<emod>(?:node:)?assert(?:/strict)?)['"])""",
    re.M,
)
_EQUALS = ("strictEqual", "equal", "deepStrictEqual", "deepEqual")


def _assertion(runner: str, source: str, esm: bool, alias, imports: list[str], ts: bool = False):
    """How the file's own tests assert, as `check(actual, expected) -> code`: the same assertion module and
    method (so code that patches it, `assert.equal = () => {}`, passes the failing canary too), `expect(...)
    .toBe` for jest and vitest, else a plain comparison that throws."""
    if runner in ("jest", "vitest") and re.search(r"\bexpect\s*\(", source):
        if runner == "jest":
            return lambda actual, expected: f"globalThis.expect({actual}).toBe({expected});"
        name = alias()
        imports.append(f'import {{ expect as {name} }} from "vitest";')
        return lambda actual, expected: f"{name}({actual}).toBe({expected});"
    for match in _ASSERT_MODULE.finditer(source):
        local = match["cjs"] or match["esm"]
        module = match["cmod"] or match["emod"]
        used = re.findall(rf"(?<![\w$.]){re.escape(local)}\.(\w+)\s*\(", source)
        method = max((m for m in used if m in _EQUALS), key=used.count, default=None)
        if method is None:
            continue
        if esm:  # TypeScript compiled without esModuleInterop has no default export: the namespace then
            target = alias()
            imports.append(f"import {'* as ' if ts else ''}{target} from {json.dumps(module)};")
        else:
            target = f"require({json.dumps(module)}){match['strict'] or ''}"
        return lambda actual, expected: f"{target}.{method}({actual}, {expected});"
    return lambda actual, expected: f"if ({actual} !== {expected}) throw new Error({json.dumps(str(expected))});"


def _is_esm(path: str, source: bytes) -> bool:
    if path.endswith((".mjs", ".mts")):
        return True
    if path.endswith((".cjs", ".cts")):
        return False
    return bool(_ESM.search(source.decode("utf-8", "replace")))


def _titles(source: bytes) -> list[str]:
    return [m.group(2) for m in _TITLES.finditer(source.decode("utf-8", "replace"))]


def _words(source: bytes, targets: list[str]) -> list[str]:
    """Words from the titles of the tests in a file and of the targets (a canary reads like its neighbours)."""
    names = _titles(source) + [t.split("::", 1)[-1] for t in targets]
    found = {w.lower() for n in names for w in _WORD.findall(n) if w.lower() not in ("test", "it", "should")}
    words = sorted(w for w in found if 2 < len(w) < 16 and w.isidentifier())
    return words if len(words) >= 4 else sorted(set(words) | set(_FALLBACK_WORDS))
