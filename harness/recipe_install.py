"""How a project gets installed: its test extras, requirements files and dependency groups, as uv commands.

Extras come from PEP 621 `[project.optional-dependencies]`, Poetry `[tool.poetry.extras]`,
setup.cfg `[options.extras_require]` (pbr's `[extras]` too) and setup.py `extras_require`; the test-like ones (test,
tests, testing) are installed, else `dev`. Requirements files are the root `*requirements*.txt`
and `requirements/*.txt`: the plain runtime file plus the test file (else the dev file); docs,
lint and minimum-version variants are left out. Poetry groups and PEP 735 dependency groups of the
same names become extra packages.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from swefarm.harness.recipe import ProjectFiles
    from swefarm.harness.recipe_tox import ToxSettings

TEST_WORDS = ("test", "tests", "testing")
DEV_WORDS = ("dev", "develop", "development")
_CI_WORDS = {"ci"}
_RUNTIME_WORDS = {"base", "core", "install", "main", "prod", "production", "runtime"}
_DOCS_LINT_WORDS = {"doc", "docs", "documentation", "lint", "linting", "pre", "precommit", "typing", "mypy", "style"}
_SKIP_WORDS = _DOCS_LINT_WORDS | {
    "format",
    "release",
    "benchmark",
    "benchmarks",
    "bench",
    "build",
    "publish",
    "optional",
    "extra",
    "extras",
}
_VARIANT_WORDS = {"min", "minimum", "minimal", "oldest", "lowest", "pinned", "latest", "upstream", "nightly"}
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_INCLUDE = re.compile(r"^(?:-r|--requirement)[\s=]*(\S+)")


@dataclass
class InstallPlan:
    """Install commands and what they install: chosen extras and files, extra packages, requirement names."""

    install: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    requirements_files: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    named: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def infer_install(project: ProjectFiles, tox: ToxSettings | None = None) -> InstallPlan:
    """The `uv pip install` command for the checkout, with its test extras and requirements files.

    With the settings of a tox environment, its extras and `-r` files join the command and its other
    dependencies become extra packages (those the install does not already name)."""
    plan = InstallPlan()
    extras = project_extras(project)
    plan.extras = [e for e in TEST_WORDS if e in extras] or [e for e in DEV_WORDS if e in extras]
    if extras and not plan.extras:
        plan.notes.append(f"no test extra among {', '.join(sorted(extras))}")
    plan.requirements_files = requirement_files(project)
    if tox:
        plan.extras += [e for e in map(_norm, tox.extras) if e not in plan.extras]
        plan.requirements_files += [f for f in tox.requirements_files if f not in plan.requirements_files]
    args = [f"-r {shlex.quote(rel)}" for rel in plan.requirements_files]
    if is_installable(project):
        args.append("-e " + shlex.quote(f".[{','.join(plan.extras)}]" if plan.extras else "."))
    if args:
        plan.install = ["uv pip install " + " ".join(args)]
    else:
        plan.notes.append("no setup.py, pyproject build or requirements file: nothing to install")
    plan.packages = dependency_groups(project)
    if plan.packages:
        plan.notes.append(f"dependency groups installed as packages: {', '.join(plan.packages)}")
    pbr = [r for e in plan.extras for r in _pbr_extras(project).get(e, []) if r not in plan.packages]
    if pbr:  # pbr writes [extras] into the metadata only in some versions (1.8 under setuptools 68 does not)
        plan.packages += pbr
        plan.notes.append(f"pbr [extras] installed as packages too: {', '.join(pbr)}")
    plan.named = _named(project, extras, plan)
    if tox:
        added = [d for d in tox.deps if requirement_name(d) not in plan.named]
        plan.packages += added
        plan.named |= {n for d in added if (n := requirement_name(d))}
        plan.notes += [*tox.notes, *([f"tox deps installed as packages: {', '.join(added)}"] if added else [])]
    return plan


def project_extras(project: ProjectFiles) -> dict[str, list[str] | None]:
    """Extra name (normalised) -> its requirements, or None where setup.py computes them."""
    extras: dict[str, list[str] | None] = {}
    tables = [
        project.pyproject.get("project", {}).get("optional-dependencies", {}),
        project.pyproject.get("tool", {}).get("poetry", {}).get("extras", {}),
    ]
    for table in tables:
        extras.update({_norm(k): [str(r) for r in v] for k, v in table.items() if isinstance(v, list)})
    if project.setup_cfg.has_section("options.extras_require"):
        for name, value in project.setup_cfg.items("options.extras_require"):
            extras[_norm(name)] = [line.strip() for line in value.splitlines() if line.strip()]
    extras.update(_pbr_extras(project))
    setup = project.setup_args.get("extras_require")
    if isinstance(setup, dict):
        for name, reqs in setup.items():
            reqs = reqs.splitlines() if isinstance(reqs, str) else reqs
            extras[_norm(name)] = [str(r) for r in reqs] if isinstance(reqs, list | tuple) else None
    elif "extras_require" in project.setup_py:
        pattern = r"""['"]([A-Za-z][\w.-]*)['"]\s*:|\b(\w+)\s*=\s*[\[(]"""
        for quoted, keyword in re.findall(pattern, project.setup_py):
            if _norm(quoted or keyword) in (*TEST_WORDS, *DEV_WORDS):
                extras.setdefault(_norm(quoted or keyword), None)
    return extras


def _pbr_extras(project: ProjectFiles) -> dict[str, list[str]]:
    """pbr's setup.cfg `[extras]`: name -> requirements (`req:marker` written as PEP 508 `req; marker`)."""
    if not (project.setup_cfg.has_section("extras") and project.setup_cfg.has_option("metadata", "name")):
        return {}
    extras = {}
    for name, value in project.setup_cfg.items("extras"):
        lines = (line.strip() for line in value.splitlines())
        extras[_norm(name)] = [re.sub(r"^([^:;]+):(?=\s*\w)", r"\1; ", line) for line in lines if line]
    return extras


def requirement_files(project: ProjectFiles) -> list[str]:
    """The requirements files to install: runtime ones, then test ones (dev ones when there is no test file)."""
    root = project.root
    found = sorted(
        {
            p.relative_to(root).as_posix()
            for pattern in ("*requirements*.txt", "requirements/*.txt")
            for p in root.glob(pattern)
            if p.is_file()
        }
    )
    runtime, exact, variant, dev = [], [], [], []
    for rel in found:
        stem = rel.rsplit("/", 1)[-1].removesuffix(".txt").lower()
        words = {w for w in re.split(r"[^a-z0-9]+", stem) if w and w not in ("requirements", "requirement", "reqs")}
        test_words = set(TEST_WORDS) | _CI_WORDS
        if words & _SKIP_WORDS:
            continue
        if words <= _RUNTIME_WORDS:
            runtime.append(rel)
        elif words <= test_words:
            exact.append(rel)
        elif words & test_words and not words & _VARIANT_WORDS:
            variant.append(rel)
        elif words <= set(DEV_WORDS):
            dev.append(rel)
    return runtime + (exact or variant or dev)


def is_installable(project: ProjectFiles) -> bool:
    """Whether the checkout is a package pip can build (setup.py, a pyproject build, or setup.cfg metadata)."""
    pyproject = project.pyproject
    return (
        project.exists("setup.py")
        or "project" in pyproject
        or "build-system" in pyproject
        or "poetry" in pyproject.get("tool", {})
        or project.setup_cfg.has_option("metadata", "name")
    )


def dependency_groups(project: ProjectFiles) -> list[str]:
    """Requirements of the test-like (else dev) Poetry groups and PEP 735 dependency groups."""
    poetry = project.pyproject.get("tool", {}).get("poetry", {})
    groups: dict[str, list[str]] = {}
    for name, deps in [
        ("dev", poetry.get("dev-dependencies", {})),
        *((g, spec.get("dependencies", {})) for g, spec in poetry.get("group", {}).items()),
    ]:
        groups.setdefault(_norm(name), []).extend(r for n, s in deps.items() if (r := poetry_requirement(n, s)))
    pep735 = project.pyproject.get("dependency-groups", {})
    for name in pep735:
        groups.setdefault(_norm(name), []).extend(_pep735_group(pep735, name, set()))
    chosen = [g for g in TEST_WORDS if g in groups] or [g for g in DEV_WORDS if g in groups]
    return list(dict.fromkeys(r for g in chosen for r in groups[g]))


def _pep735_group(table: dict[str, Any], name: str, seen: set[str]) -> list[str]:
    if name in seen:
        return []
    seen.add(name)
    out = []
    for item in table.get(name, []):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out.extend(_pep735_group(table, item["include-group"], seen))
    return out


def poetry_requirement(name: str, spec: Any) -> str | None:
    """A Poetry dependency as a PEP 508 requirement (`^1.2` -> `>=1.2,<2`); None for python, paths, git."""
    extras: list[str] = []
    if isinstance(spec, list):
        spec = spec[0] if spec else "*"
    if isinstance(spec, dict):
        if any(key in spec for key in ("path", "git", "url", "file")):
            return None
        extras, spec = spec.get("extras", []), spec.get("version", "*")
    if name.lower() == "python" or not isinstance(spec, str):
        return None
    return name + (f"[{','.join(extras)}]" if extras else "") + _poetry_constraint(spec)


def _poetry_constraint(spec: str) -> str:
    if "||" in spec:
        return ""
    parts = []
    for clause in (c.strip() for c in spec.split(",")):
        if match := re.fullmatch(r"([\^~])(\d+(?:\.\d+)*)", clause):
            nums = [int(x) for x in match.group(2).split(".")]
            if match.group(1) == "^":
                at = next((i for i, n in enumerate(nums) if n), len(nums) - 1)
            else:
                at = 0 if len(nums) == 1 else 1
            parts.append(f">={match.group(2)},<{'.'.join(map(str, [*nums[:at], nums[at] + 1]))}")
        elif re.fullmatch(r"\d+(\.\d+)*(\.\*)?", clause):
            parts.append(f"=={clause}")
        elif clause and clause != "*":
            parts.append(clause)
    return ",".join(parts)


def _named(project: ProjectFiles, extras: dict[str, list[str] | None], plan: InstallPlan) -> set[str]:
    """Names of what the install brings in: the project, its dependencies, chosen extras, files and groups."""
    pyproject, cfg, setup = project.pyproject, project.setup_cfg, project.setup_args
    poetry = pyproject.get("tool", {}).get("poetry", {})
    reqs: list[str] = [
        str(pyproject.get("project", {}).get("name", "")),
        str(poetry.get("name", "")),
        cfg.get("metadata", "name", fallback=""),
        str(setup.get("name", "")),
        *map(str, pyproject.get("project", {}).get("dependencies", [])),
        *poetry.get("dependencies", {}),
        *cfg.get("options", "install_requires", fallback="").splitlines(),
        *plan.packages,
    ]
    if isinstance(setup.get("install_requires"), list | tuple):
        reqs.extend(map(str, setup["install_requires"]))
    for extra in plan.extras:
        reqs.extend(extras.get(extra) or [])
    names = {n for r in reqs if (n := requirement_name(r))}
    seen: set[str] = set()
    for rel in plan.requirements_files:
        names |= _file_names(project, rel, seen)
    return names


def _file_names(project: ProjectFiles, rel: str, seen: set[str]) -> set[str]:
    if rel in seen or rel.startswith(".."):
        return set()
    seen.add(rel)
    names = set()
    for line in project.text(rel).splitlines():
        if match := _INCLUDE.match(line.strip()):
            names |= _file_names(project, posixpath.normpath(posixpath.join(posixpath.dirname(rel), match[1])), seen)
        elif name := requirement_name(line):
            names.add(name)
    return names


def requirement_name(line: str) -> str | None:
    """The normalised project name a requirement line installs, or None (options, URLs, paths, comments)."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith(("-", ".", "/")) or re.match(r"^[\w+]+://", line):
        return None
    match = _REQ_NAME.match(line)
    return _norm(match.group(1)) if match else None


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
