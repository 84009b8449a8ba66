"""A project's tox configuration, read as data: its envlist, and the deps, extras and setenv of the
test environment that fits the chosen Python (issue 14, class 12: a test module that errors in the
base and the gold run alike because the install lacked what tox would have given it).

tox is read from tox.ini, setup.cfg (`[tox:tox]` and `[testenv...]`), pyproject.toml
(`legacy_tox_ini`, or tox 4's `[tool.tox]` tables) and tox.toml, in that order (tox's own). Among
the envlist's environments the one chosen runs tests (no lint, docs or packaging environment),
matches the Python (`py311`, `py3.11`), and needs nothing from the network at test time (a
dependency given as a URL, a `main`/`master` variant): the last such in the envlist, usually the
newest variant. Factor-conditional settings (`dj42: Django>=4.2`, `!py27: x`) follow tox's rules;
a conditional dependency keeps only its name, since the date cutoff picks its version.
"""

from __future__ import annotations

import re
import tomllib
from configparser import ConfigParser
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from swefarm.harness.recipe_install import requirement_name

if TYPE_CHECKING:
    from swefarm.harness.recipe import ProjectFiles

TESTBED = "/testbed"
#: Factors of environments that do not run the test suite.
NOT_TESTS = frozenset({
    "lint", "linting", "flake8", "pep8", "pyflakes", "pylint", "isort", "black", "ruff", "mypy", "typing", "types",
    "typecheck", "pyright", "docs", "doc", "linkcheck", "spelling", "codespell", "readme", "manifest",
    "check-manifest", "pre-commit", "precommit", "style", "format", "fmt", "report", "coverage-report", "clean",
    "build", "release", "publish", "packaging", "bandit", "safety", "security", "checkmigrations", "migrations",
    "bench", "benchmark", "benchmarks", "perf", "changelog", "towncrier", "venv", "devenv", "upgrade", "cog",
    "docstyle", "pydocstyle",
})  # fmt: skip
#: tox extras that bring checks (docs, style, types, coverage), not what the tests need.
SKIP_EXTRAS = frozenset(
    {"doc", "docs", "lint", "check", "checks", "cover", "coverage", "type", "types", "typing", "mypy", "style"}
)
#: Factors of environments that install a moving target (a branch tarball): never reproducible offline.
MOVING = frozenset({"main", "master", "trunk", "nightly", "latest", "dev", "devel", "djmain", "djmaster", "djdev"})
_PY_FACTOR = re.compile(r"^(?:py|python)(?:(\d)\.?(\d+)?)?$")
_CONDITION = re.compile(r"^([\w{}.!,\-]+):\s+(.+)$")  # tox's own: a factor list, a colon, whitespace
_SETTING = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


@dataclass
class ToxConfig:
    """tox's settings as text: the envlist and, per section (`testenv`, `testenv:NAME`), option -> value."""

    source: str
    envlist: list[str] = field(default_factory=list)
    sections: dict[str, dict[str, str]] = field(default_factory=dict)

    def option(self, env: str, key: str) -> str:
        """The raw value of `key` for environment `env`: its own section, else `[testenv]`."""
        for section in (f"testenv:{env}", "testenv"):
            if key in self.sections.get(section, {}):
                return self.sections[section][key]
        return ""


@dataclass
class ToxSettings:
    """What the chosen tox environment adds to the install and the test run."""

    env: str
    deps: list[str] = field(default_factory=list)
    requirements_files: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    setenv: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_tox(project: ProjectFiles) -> ToxConfig | None:
    """The project's tox configuration, or None when it has none."""
    if project.tox_ini.has_section("tox") or _has_testenv(project.tox_ini):
        return _from_ini(project.tox_ini, "tox.ini", "tox")
    if project.setup_cfg.has_section("tox:tox") or _has_testenv(project.setup_cfg):
        return _from_ini(project.setup_cfg, "setup.cfg", "tox:tox")
    table = project.pyproject.get("tool", {}).get("tox", {})
    if isinstance(table.get("legacy_tox_ini"), str):
        parser = ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(table["legacy_tox_ini"])
        except Exception as exc:  # configparser.Error and friends: a note, never a failed inference
            project.notes.append(f"pyproject.toml legacy_tox_ini is not valid INI ({exc.__class__.__name__}); ignored")
            return None
        return _from_ini(parser, "pyproject.toml legacy_tox_ini", "tox")
    if table:
        return _from_toml(table, "pyproject.toml [tool.tox]")
    if text := project.text("tox.toml"):
        try:
            return _from_toml(tomllib.loads(text), "tox.toml")
        except tomllib.TOMLDecodeError:
            project.notes.append("tox.toml is not valid TOML; ignored")
    return None


def _has_testenv(parser: ConfigParser) -> bool:
    return any(s == "testenv" or s.startswith("testenv:") for s in parser.sections())


def _from_ini(parser: ConfigParser, source: str, main: str) -> ToxConfig:
    sections = {s: dict(parser.items(s)) for s in parser.sections() if s == "testenv" or s.startswith("testenv:")}
    envlist = parser.get(main, "envlist", fallback="") if parser.has_section(main) else ""
    return ToxConfig(source=source, envlist=_expand_envlist(envlist), sections=sections)


def _from_toml(table: dict, source: str) -> ToxConfig:
    def as_text(options: dict) -> dict[str, str]:
        out = {}
        for key, value in options.items():
            key = {"set_env": "setenv"}.get(key, key)
            if isinstance(value, list):
                out[key] = "\n".join(str(v) for v in value if isinstance(v, str))
            elif isinstance(value, dict):
                out[key] = "\n".join(f"{k}={v}" for k, v in value.items() if isinstance(v, str | int | float))
            elif isinstance(value, str | int | float | bool):
                out[key] = str(value)
        return out

    sections = {"testenv": as_text(table.get("env_run_base", {}))}
    for name, options in (table.get("env") or {}).items():
        if isinstance(options, dict):
            sections[f"testenv:{name}"] = as_text(options)
    envs = table.get("env_list", [])
    return ToxConfig(source=source, envlist=[e for e in envs if isinstance(e, str)], sections=sections)


def _expand_envlist(text: str) -> list[str]:
    names: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for part in _split_outside_braces(line):
            names.extend(expand_braces(part.strip()))
    return [n for n in dict.fromkeys(names) if n]


def _split_outside_braces(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def expand_braces(text: str, limit: int = 256) -> list[str]:
    """tox's generative names (`py{38,39}-dj{32,42}`), expanded (at most `limit` results)."""
    match = re.search(r"\{([^{}]*)\}", text)
    if not match:
        return [text]
    out: list[str] = []
    for alt in match.group(1).split(","):
        out.extend(expand_braces(text[: match.start()] + alt.strip() + text[match.end() :], limit))
        if len(out) >= limit:
            break
    return out[:limit]


def python_factor(factor: str) -> tuple[int, int] | None | bool:
    """(3, 11) for `py311`/`py3.11`, True for a version-free `py`/`py3`, None when not a Python factor."""
    match = _PY_FACTOR.match(factor)
    if not match:
        return None
    if match.group(1) and match.group(2):
        return int(match.group(1)), int(match.group(2))
    return True


def choose_env(config: ToxConfig, python: tuple[int, int]) -> tuple[str, str]:
    """The environment whose settings the tests get, and why ("" for plain `[testenv]`: no envlist).

    Preferred, in order: no moving target; a Python factor equal to `python`, else the nearest
    (the newest older one, then the oldest newer one), else a version-free `py`; the fewest factors
    (`py38` before `py38-pure`); the first in the envlist."""
    ranked = []
    for i, name in enumerate(config.envlist):
        factors = name.split("-")
        if name in NOT_TESTS or set(factors) & NOT_TESTS or any(f.startswith(("pypy", "jython")) for f in factors):
            continue
        pys = [p for f in factors if (p := python_factor(f)) is not None]
        versions = [p for p in pys if isinstance(p, tuple)]
        if any(v[0] < 3 for v in versions):
            continue
        if python in versions:
            fit = (4, 0)
        elif versions and max(versions) < python:
            fit = (3, max(versions)[1])
        elif versions:
            fit = (2, -min(versions)[1])
        else:
            fit = (1 if pys else 0, 0)
        moving = bool(set(factors) & MOVING) or _has_url_dep(config, name)
        ranked.append(((not moving, fit, -len(factors), -i), name))
    if not ranked:
        return "", "no test environment in the envlist: [testenv]"
    (stable, fit, _, _), name = max(ranked)
    py = ".".join(map(str, python))
    why = {4: f"python {py}", 3: f"the nearest older than python {py}", 2: f"the nearest newer than python {py}"}
    text = why.get(fit[0], "no python factor")
    return name, f"tox environment {name} ({text}{'' if stable else '; it installs a moving target'})"


def _has_url_dep(config: ToxConfig, env: str) -> bool:
    return any(re.match(r"^(https?|git\+\w+|file)://", line) for line in _lines(config, env, "deps"))


def tox_settings(project: ProjectFiles, python: tuple[int, int]) -> ToxSettings | None:
    """Deps, requirements files, extras and setenv of the tox environment the tests should get, or None."""
    config = read_tox(project)
    if config is None:
        return None
    env, why = choose_env(config, python)
    out = ToxSettings(env=env, notes=[f"{config.source}: {why}"])
    for line, conditional in _lines(config, env, "deps", with_condition=True):
        if match := re.match(r"^(?:-r|--requirement)\s*=?\s*(\S+)$", line):
            rel = match.group(1).removeprefix("./")
            if project.exists(rel) and rel not in out.requirements_files:
                out.requirements_files.append(rel)
        elif line.startswith(("-", ".", "/")) or "://" in line:
            out.notes.append(f"tox dependency {line!r} not installed (an option, a path or a URL)")
        elif name := requirement_name(line):
            out.deps.append(name if conditional else line)
    extras = [e.strip() for line in _lines(config, env, "extras") for e in line.split(",") if e.strip()]
    out.extras = [e for e in extras if e.lower() not in SKIP_EXTRAS]
    if skipped := sorted(set(extras) - set(out.extras)):
        out.notes.append(f"tox extras not installed (checks, not tests): {', '.join(skipped)}")
    for line in _lines(config, env, "setenv"):
        if (match := _SETTING.match(line)) and "{" not in match.group(2):
            out.setenv[match.group(1)] = match.group(2).strip().strip("\"'")
    return out


def _lines(config: ToxConfig, env: str, key: str, with_condition: bool = False) -> list:
    """The option's lines that apply to `env`, substitutions made; with (line, conditional) pairs if asked."""
    factors = set(env.split("-")) if env else set()
    out = []

    def add(text: str, conditional: bool, depth: int = 0) -> None:
        for raw in text.splitlines():
            line = re.split(r"\s#", raw, maxsplit=1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if match := _CONDITION.match(line):
                if not _applies(match.group(1), factors):
                    continue
                line, conditional = match.group(2).strip(), True
            if "{[" in line and depth < 5:  # a reference to another section's option: its lines, in place
                add(_substitute(config, line), conditional, depth + 1)
                continue
            line = _substitute(config, line)
            if line and "{" not in line:  # a substitution we cannot make (envdir, env:...) is not guessed
                out.append((line, conditional) if with_condition else line)

    add(config.option(env, key), False)
    return out


def _applies(condition: str, factors: set[str]) -> bool:
    """tox's factor conditions: alternatives split by commas, factors within one joined by dashes."""
    alternatives = [alt for part in expand_braces(condition) for alt in part.split(",")]
    for alt in alternatives:
        wanted = [f for f in alt.split("-") if f]
        if wanted and all((f[1:] not in factors) if f.startswith("!") else (f in factors) for f in wanted):
            return True
    return False


def _substitute(config: ToxConfig, text: str) -> str:
    """`{[section]key}` references (one level) and `{toxinidir}` made; others are left for `_lines` to drop."""

    def ref(match: re.Match) -> str:
        return config.sections.get(match.group(1), {}).get(match.group(2), "")

    text = re.sub(r"\{\[([^\]]+)\]([\w-]+)\}", ref, text)
    text = re.sub(r"\{(toxinidir|tox_root)\}", TESTBED, text)
    return re.sub(r"\{posargs(?::[^}]*)?\}", "", text).strip()
