"""Which Python a project's environment gets: its declared constraints, bounded by the task's date.

Hard constraints come from `requires-python` (PEP 621 or Poetry), setup.cfg `python_requires` and
setup.py `python_requires=`. The best version is the newest the project supports at its date: the
newest it declares anywhere (trove classifiers, tox envlists, GitHub workflow matrices) that was
released by then, else the newest that had been out for MATURITY; `.python-version` pins it. It is
then mapped to a base this machine can make (sandbox/bases.py holds the list and the rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import yaml
from swefarm.harness.recipe_tox import python_factor, read_tox
from swefarm.sandbox.bases import choose_base, makeable_versions

if TYPE_CHECKING:
    from swefarm.harness.recipe import ProjectFiles

Version = tuple[int, int]

#: CPython 3.x first releases; a version counts as available MATURITY after its release.
RELEASED: dict[Version, date] = {
    (3, 5): date(2015, 9, 13),
    (3, 6): date(2016, 12, 23),
    (3, 7): date(2018, 6, 27),
    (3, 8): date(2019, 10, 14),
    (3, 9): date(2020, 10, 5),
    (3, 10): date(2021, 10, 4),
    (3, 11): date(2022, 10, 24),
    (3, 12): date(2023, 10, 2),
    (3, 13): date(2024, 10, 7),
    (3, 14): date(2025, 10, 7),
}
#: Dependencies resolved as of the task's date need wheels for the Python: give a release time to get them.
MATURITY = timedelta(days=180)

_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3)\.(\d+)\b")
_PY_REQUIRES = re.compile(r"""python_requires['"]?\s*[=:]\s*['"]([^'"]+)['"]""")
_VERSION = re.compile(r"^(?:python-?|cpython-)?(3)\.(\d+)(?:\.\d+)?$")
_CLAUSE = re.compile(r"^(~=|===|==|!=|<=|>=|<|>|\^|~)?v?(\d+(?:\.\d+)*)(\.\*)?$")


@dataclass(frozen=True)
class PythonChoice:
    """The base Python picked, the best supported version it stands for, and why."""

    version: str
    best: str
    reason: str


def infer_python(
    project: ProjectFiles, created: date | None = None, bases: tuple[Version, ...] | None = None
) -> PythonChoice:
    """Pick the Python for `project`, a task created on `created` (None: today), among `bases`
    (None: the bases this machine can make)."""
    bases = bases if bases is not None else makeable_versions()
    spec, spec_source = requires_python(project)
    declared = declared_versions(project)
    allowed = [v for v in RELEASED if spec is None or spec_allows(spec, v)]
    day = created or date.today()
    why = [f"{spec_source} {spec!r}"] if spec else []
    for source, versions in declared.items():
        why.append(f"{source} {_text(min(versions))}-{_text(max(versions))}")
    pin = _python_version_file(project)
    out_by_then = [v for v in RELEASED if RELEASED[v] <= day]
    claimed = [v for versions in declared.values() for v in versions if v in out_by_then]
    if pin and pin in allowed:
        best = pin
        why.append(f".python-version {_text(pin)}")
    else:
        if claimed:  # the project's own CI and metadata ran it then: no need to wait for wheels
            ceiling = max(claimed)
            why.append(f"newest declared and released by {day.isoformat()}: {_text(ceiling)}")
        else:
            ceiling = date_cap(day)
            why.append(f"task date {created.isoformat() if created else 'today'} allows up to {_text(ceiling)}")
        within = [v for v in allowed if v <= ceiling]
        best = max(within) if within else min(allowed) if allowed else ceiling
    base = choose_base(best, bases, (lambda v: spec_allows(spec, v)) if spec else None)
    if best < min(bases):
        why.append(
            f"no base older than {_text(min(bases))} can be made here (bases: {', '.join(map(_text, bases))}; "
            "older Pythons need a registry): old code may fail on it"
        )
    reason = f"{_text(base)} (best supported {_text(best)}): " + "; ".join(why)
    return PythonChoice(version=_text(base), best=_text(best), reason=reason)


def next_python(current: str, spec: str | None = None, bases: tuple[Version, ...] | None = None) -> str | None:
    """The next newer base after `current` that `spec` allows, or None (for a retry on a newer Python)."""
    bases = bases if bases is not None else makeable_versions()
    match = _VERSION.match(current.strip())
    if not match:
        return None
    now = (int(match.group(1)), int(match.group(2)))
    newer = [b for b in bases if b > now and (spec is None or spec_allows(spec, b))]
    return _text(min(newer)) if newer else None


def requires_python(project: ProjectFiles) -> tuple[str | None, str]:
    """The project's Python constraint and where it was read, or (None, "")."""
    poetry_deps = project.pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    candidates = [
        (project.pyproject.get("project", {}).get("requires-python"), "requires-python"),
        (poetry_deps.get("python") if isinstance(poetry_deps, dict) else None, "poetry python"),
        (project.setup_cfg.get("options", "python_requires", fallback=None), "setup.cfg python_requires"),
        (project.setup_args.get("python_requires"), "setup.py python_requires"),
    ]
    if match := _PY_REQUIRES.search(project.setup_py):
        candidates.append((match.group(1), "setup.py python_requires"))
    for value, source in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip(), source
    return None, ""


def declared_versions(project: ProjectFiles) -> dict[str, list[Version]]:
    """Python 3 versions the project says it supports, by source: classifiers, tox, workflows."""
    classifiers = [
        *project.pyproject.get("project", {}).get("classifiers", []),
        *project.pyproject.get("tool", {}).get("poetry", {}).get("classifiers", []),
        project.setup_cfg.get("metadata", "classifiers", fallback=""),
        project.setup_py,
    ]
    found = {
        "classifiers": {(int(a), int(b)) for a, b in _CLASSIFIER.findall("\n".join(map(str, classifiers)))},
        "tox": _tox_versions(project),
        "workflows": _workflow_versions(project),
    }
    return {source: sorted(versions) for source, versions in found.items() if versions}


def _tox_versions(project: ProjectFiles) -> set[Version]:
    config = read_tox(project)
    versions = set()
    for name in config.envlist if config else []:
        for factor in name.split("-"):
            if isinstance(found := python_factor(factor), tuple) and found[0] == 3:
                versions.add(found)
    return versions


class _StrLoader(yaml.SafeLoader):
    """YAML that keeps 3.10 as the text "3.10" instead of the float 3.1."""


_StrLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _workflow_versions(project: ProjectFiles) -> set[Version]:
    versions: set[Version] = set()
    workflows = project.root / ".github" / "workflows"
    for path in sorted(workflows.glob("*.y*ml")) if workflows.is_dir() else []:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_StrLoader)
        except yaml.YAMLError:
            project.notes.append(f"{path.relative_to(project.root)} is not valid YAML; ignored")
            continue
        versions |= _python_values(doc)
    return versions


def _python_values(node: object) -> set[Version]:
    found: set[Version] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("python-version", "python_version", "python-versions", "python"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and (match := _VERSION.match(item.strip())):
                        found.add((int(match.group(1)), int(match.group(2))))
            found |= _python_values(value)
    elif isinstance(node, list):
        for item in node:
            found |= _python_values(item)
    return found


def _python_version_file(project: ProjectFiles) -> Version | None:
    for line in project.text(".python-version").splitlines():
        if match := _VERSION.match(line.strip()):
            return int(match.group(1)), int(match.group(2))
    return None


def date_cap(created: date) -> Version:
    """The newest Python that had been out for MATURITY on `created` (the oldest known if none had)."""
    out = [v for v, released in RELEASED.items() if released + MATURITY <= created]
    return max(out) if out else min(RELEASED)


def spec_allows(spec: str, version: Version) -> bool:
    """Whether some release of `version` (any patch level) meets `spec` (PEP 440, or Poetry's ^ ~ ||)."""
    for alternative in spec.split("||"):
        clauses = [c for part in alternative.split(",") for c in re.split(r"\s+(?=[<>=!~^])", part.strip())]
        if all(_clause_allows(c.replace(" ", ""), version) for c in clauses if c.strip()):
            return True
    return False


def _clause_allows(clause: str, v: Version) -> bool:
    match = _CLAUSE.match(clause)
    if clause == "*" or not match:
        return True  # an unreadable clause does not constrain
    op, nums, star = match.group(1) or "", tuple(int(x) for x in match.group(2).split(".")), bool(match.group(3))
    head = (nums + (0,))[:2]
    prefix = v[: min(len(nums), 2)] == nums[:2]
    if op in ("", "==", "==="):
        return prefix
    if op == "!=":
        return not (star and len(nums) <= 2 and prefix)
    if op in (">=", ">"):
        return v >= head
    if op == "<=":
        return v <= head
    if op == "<":
        return v < head or (v == head and len(nums) > 2 and any(nums[2:]))
    if op == "^":
        return v >= head and v[0] == nums[0]
    if op == "~":  # Poetry: ~3.8 is >=3.8,<3.9; ~3 is >=3,<4
        return v >= head and (v[0] == nums[0] if len(nums) == 1 else v == head)
    # ~=3.6 is >=3.6,==3.*; ~=3.6.1 is >=3.6.1,==3.6.*
    return v >= head and (v[0] == nums[0] if len(nums) <= 2 else v == head)


def base_for(python: str, bases: tuple[Version, ...] | None = None) -> str:
    """The base image version for a Python version string ("3.10" -> "3.9" here; bases map to themselves)."""
    match = _VERSION.match(python.strip())
    if not match:
        return python
    bases = bases if bases is not None else makeable_versions()
    return _text(choose_base((int(match.group(1)), int(match.group(2))), bases))


def python_version(text: str) -> Version:
    """(3, 11) for "3.11" (or "python3.11"); (3, 0) when the text names no version."""
    match = _VERSION.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (3, 0)


def _text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"
