"""What an environment build needs to know beyond the install recipe: the version git would give,
the backend's own requirements, whether C code needs a compiler, and when the base's Python matured."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from pathlib import Path

from swefarm.harness.recipe import ProjectFiles
from swefarm.harness.recipe_install import requirement_name
from swefarm.harness.recipe_python import MATURITY, RELEASED
from swefarm.harness.repos import git

_TAG_VERSION = re.compile(r"(\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)?)")
_C_SIGNS = re.compile(r"\bExtension\(|\bext_modules\b|\bcythonize\(|\bcffi_modules\b|\bPybind11Extension\b")
_C_BACKENDS = ("cython", "cffi", "pybind11", "scikit-build", "meson-python", "setuptools-rust", "maturin")


def vcs_version(git_dir: Path, commit: str) -> str:
    """The version setuptools-scm and friends would derive from the newest tag reachable from `commit`
    (PEP 440, "v1.2.3" -> "1.2.3"), or "0.0.0" when no tag holds a version."""
    described = git("describe", "--tags", "--abbrev=0", commit, cwd=git_dir, check=False).strip()
    match = _TAG_VERSION.search(described)
    return match.group(1) if match else "0.0.0"


def build_requirement_names(project: ProjectFiles) -> list[str]:
    """The build backend's requirements by name (pins dropped), setuptools and wheel left out."""
    requires = project.pyproject.get("build-system", {}).get("requires", [])
    names = {requirement_name(str(r)) for r in requires if isinstance(r, str)}
    return sorted(n for n in names if n and n not in ("setuptools", "wheel"))


def needs_compiler(project: ProjectFiles) -> bool:
    """Whether building the project compiles C (extension modules, Cython, cffi, pybind11...)."""
    if _C_SIGNS.search(project.setup_py):
        return True
    requires = " ".join(map(str, project.pyproject.get("build-system", {}).get("requires", []))).lower()
    if any(name in requires for name in _C_BACKENDS):
        return True
    return any(True for _ in _limited(project.root.rglob("*.pyx"), 1))


def _limited(iterator, n: int):
    for i, item in enumerate(iterator):
        if i >= n:
            return
        yield item


def python_matured(version: tuple[int, int]) -> str:
    """When `version` had been out for MATURITY (UTC, RFC 3339): tools resolved as of then support it."""
    released = RELEASED.get(version)
    if released is None:
        return ""
    when = datetime.combine(released + MATURITY, time(), tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
