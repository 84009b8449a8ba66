"""What a JS/TS project's own scripts and configuration say about how its tests run (nothing executed).

    test_scripts(package)                  # the `test` script and the scripts it runs (`npm run x`, `yarn x`)
    runner_options(package, "mocha")       # (["--require", "ts-node/register"], {"TS_NODE_PROJECT": "..."})
    compiled_tests(root, package)          # {"src/": "dist/esm/"}: the tests run compiled, from an outDir
    unreachable_dependencies(package)      # {"time-require": "github:jonschlinkert/time-require"}

A project's scripts hold what its runner needs beyond the runner's name: mocha's `--require ts-node/register`
and the variables set before it (`cross-env TS_NODE_PROJECT=spec/tsconfig.json mocha ...`), or a test glob
under a TypeScript outDir (`node --test dist/esm/test/*.js`) whose sources live elsewhere (`src/test/*.ts`).
Dependencies fetched from git hosts or URLs cannot be installed here (only the npm registry answers).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from pathlib import Path
from typing import Any

#: Options of a runner that the project's scripts give it and that its tests need to load.
_KEPT = {
    "mocha": {"-r": 1, "--require": 1, "--extension": 1, "--ui": 1, "-u": 1, "--loader": 1, "--import": 1,
              "--node-option": 1, "-n": 1, "--file": 1, "--timeout": 1, "-t": 1, "--exit": 0, "--recursive": 0,
              "--enable-source-maps": 0, "--check-leaks": 0},
    "jest": {"--config": 1, "-c": 1, "--rootDir": 1, "--env": 1, "--testEnvironment": 1},
    "vitest": {"--config": 1, "-c": 1, "--root": 1, "--dir": 1, "--environment": 1},
    "node": {"--import": 1, "--require": 1, "-r": 1, "--loader": 1, "--experimental-loader": 1,
             "--enable-source-maps": 0, "--conditions": 1, "-C": 1, "--expose-gc": 0},
}  # fmt: skip
_RUNS_SCRIPT = re.compile(r"(?:npm run(?:-script)?|yarn run|yarn|pnpm run|pnpm)\s+([\w:.\-]+)")
_ENV_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_GIT_SPEC = re.compile(r"^(?:git\+|git:|github:|gitlab:|bitbucket:|gist:|ssh:|https?:)|^[\w.-]+/[\w.-]+(?:#.*)?$")
TS_SOURCES = {".js": ".ts", ".mjs": ".mts", ".cjs": ".cts"}
#: package.json's sections of dependencies that an install fetches.
DEPENDENCY_KEYS = ("dependencies", "devDependencies", "optionalDependencies")


def _scripts(package: dict[str, Any]) -> dict[str, str]:
    scripts = package.get("scripts")
    return {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {}


def test_scripts(package: dict[str, Any], start: str = "test", depth: int = 3) -> list[str]:
    """The text of the `test` script and of every script it runs by name, to `depth` levels, `pre`/`post` too."""
    scripts, seen, out = _scripts(package), set(), []
    todo = [(start, 0)]
    while todo:
        name, level = todo.pop(0)
        for each in (f"pre{name}", name, f"post{name}"):
            if each in seen or each not in scripts:
                continue
            seen.add(each)
            out.append(scripts[each])
            if level < depth:
                todo += [(called, level + 1) for called in _RUNS_SCRIPT.findall(scripts[each]) if called in scripts]
    return out


test_scripts.__test__ = False  # type: ignore[attr-defined]


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def runner_options(package: dict[str, Any], runner: str, root: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The options the project's scripts give `runner` where they run it (the first such command, from the
    test scripts first, then every script), and the variables they set before it; for mocha, then those of a
    `test/mocha.opts` (mocha 8+ ignores that file; a project that kept it meant its `--ui tdd`)."""
    options, env = _script_options(package, runner)
    opts = Path(root or ".") / "test" / "mocha.opts"
    if runner == "mocha" and root is not None and opts.is_file():
        try:
            lines = opts.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        words = [w for line in lines if not line.lstrip().startswith("#") for w in _words(line)]
        options += [o for o in _kept(words, _KEPT["mocha"]) if o not in options]
    return options, env


def _kept(words: list[str], kept: dict[str, int]) -> list[str]:
    """The options of `words` that `kept` names (with their values)."""
    options: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, _value = word.partition("=")
        if name in kept:
            if eq or not kept[name]:
                options.append(word)
            elif i + 1 < len(words):
                options += [word, words[i + 1]]
                i += 1
        i += 1
    return options


def _script_options(package: dict[str, Any], runner: str) -> tuple[list[str], dict[str, str]]:
    kept = _KEPT.get(runner, {})
    texts = test_scripts(package) + list(_scripts(package).values())
    binary = "node" if runner == "node" else runner
    for text in texts:
        for command in re.split(r"&&|\|\||;|\|", text):
            words = _words(command)
            if binary not in words or (runner == "node" and not _runs_tests(words[words.index(binary) + 1 :])):
                continue
            at = words.index(binary)
            env = dict(w.split("=", 1) for w in words[:at] if _ENV_WORD.match(w))
            return _kept(words[at + 1 :], kept), env
    return [], {}


#: What a script runs when it compiles the project (tsc itself, a bundler, or another script that builds).
_COMPILES = re.compile(
    r"\b(?:tsc|tsup|esbuild|rollup|babel|swc|vite build|(?:npm run|yarn|pnpm)(?: run)? (?:build|compile))\b"
)


def build_script(package: dict[str, Any]) -> str | None:
    """The script that compiles a TypeScript project: `build`, else `compile` (uuid: `"build"`)."""
    scripts = _scripts(package)
    return next((name for name in ("build", "compile") if name in scripts), None)


def pretest_builds(package: dict[str, Any]) -> list[str]:
    """The commands of the `pretest` and `test` scripts that compile: npm runs them before the tests, so the tests
    may need their output (validator.js: `"pretest": "npm run build && npm run lint"` -> ["npm run build"]; yargs:
    `"npm run compile -- -p tsconfig.test.json"`; markdown-it: `"npm run lint && CJS_ONLY=1 npm run build && c8
    mocha"` -> ["CJS_ONLY=1 npm run build"]). Linters, type checks (`tsc --noEmit`) and the runner are left out."""
    scripts = _scripts(package)
    parts = [p.strip() for name in ("pretest", "test") for p in re.split(r"&&|;", scripts.get(name, ""))]
    return [p for p in parts if _COMPILES.search(p) and "--noEmit" not in p and not _RUNNERS.search(p)]


#: A command that runs tests rather than builds.
_RUNNERS = re.compile(r"\b(?:jest|vitest|mocha|ava|tap|node --test)\b")


def _runs_tests(words: list[str]) -> bool:
    """node's arguments run tests: `--test`, or a script named like a test (`node --conditions development test.js`)."""
    return "--test" in words or any(re.search(r"(^|/)(test|tests|spec)[^/]*\.[cm]?[jt]s$", w) for w in words)


def unreachable_dependencies(package: dict[str, Any]) -> dict[str, str]:
    """Direct dependencies fetched from a git host or a URL (`github:u/r`, `u/r`, `git+ssh://...`, `https://...`)."""
    out: dict[str, str] = {}
    for key in DEPENDENCY_KEYS:
        section = package.get(key)
        if isinstance(section, dict):
            out.update({str(n): str(s) for n, s in section.items() if _GIT_SPEC.search(str(s).strip())})
    return out


def read_jsonc(path: Path) -> dict[str, Any]:
    """A tsconfig-style file: JSON with comments and trailing commas ({} when unreadable)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    cleaned = re.sub(r",(\s*[}\]])", r"\1", "".join(out))
    try:
        data = json.loads(cleaned)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _prefix(path: str) -> str:
    norm = posixpath.normpath(path.strip())
    return "" if norm in (".", "") else norm.rstrip("/") + "/"


def out_dirs(root: Path) -> dict[str, str | None]:
    """{outDir prefix: rootDir prefix or None} of every tsconfig*.json at the project's root."""
    out: dict[str, str | None] = {}
    for path in sorted(root.glob("tsconfig*.json")):
        options = read_jsonc(path).get("compilerOptions")
        if isinstance(options, dict) and isinstance(options.get("outDir"), str):
            rootdir = options.get("rootDir")
            out.setdefault(_prefix(options["outDir"]), _prefix(rootdir) if isinstance(rootdir, str) else None)
    return out


def _source_root(root: Path, rest_dir: str) -> str | None:
    """Where sources sit whose `rest_dir` holds TypeScript (src/ for src/test/*.ts), else None."""
    for top in ["src", "lib", "source", "", *sorted(p.name for p in root.iterdir() if p.is_dir())]:
        folder = root / top / rest_dir if top else root / rest_dir
        if folder.is_dir() and (any(folder.glob("*.ts")) or any(folder.glob("*.mts"))):
            return _prefix(top) if top else ""
    return None


def compiled_tests(root: Path, package: dict[str, Any]) -> dict[str, str]:
    """{source prefix: compiled prefix} when the test scripts run test files from a TypeScript outDir.

    `node --test dist/esm/test/*.js` with tsconfig's outDir `dist/esm` and the sources of `test/` under `src/`
    gives {"src/": "dist/esm/"}: src/test/v4.test.ts runs as dist/esm/test/v4.test.js."""
    root = Path(root)
    outs = out_dirs(root)
    if not outs:
        return {}
    for text in test_scripts(package):
        for word in _words(text):
            path = word[2:] if word.startswith("./") else word
            if not (path.endswith(tuple(TS_SOURCES)) or "*" in path):
                continue
            for out, rootdir in sorted(outs.items(), key=lambda item: -len(item[0])):
                if out and path.startswith(out):
                    rest_dir = posixpath.dirname(path[len(out) :]).split("*", 1)[0].rstrip("/")
                    source = rootdir if rootdir is not None else _source_root(root, rest_dir)
                    if source is not None and source != out:
                        return {source: out}
    return {}


def compiled_path(path: str, compiled: dict[str, str]) -> str:
    """The compiled file a TypeScript test source runs as (`src/test/a.test.ts` -> `dist/test/a.test.js`)."""
    for source, out in compiled.items():
        stem, ext = posixpath.splitext(path)
        js = {".ts": ".js", ".mts": ".mjs", ".cts": ".cjs", ".tsx": ".js"}.get(ext)
        if js and path.startswith(source):
            return out + stem[len(source) :] + js
    return path


def source_path(path: str, compiled: dict[str, str]) -> str:
    """The TypeScript source of a compiled test file (the inverse of compiled_path for .ts, .mts, .cts)."""
    for source, out in compiled.items():
        stem, ext = posixpath.splitext(path)
        if ext in TS_SOURCES and path.startswith(out):
            return source + stem[len(out) :] + TS_SOURCES[ext]
    return path
