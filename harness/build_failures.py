"""Why an environment build failed, as a short class code read from its reason and log.

The codes name general failure classes (issue 14), not repositories, so a benchmark over many
repositories can count them and a fix can target the biggest class:

    vcs_version          the version comes from git (setuptools-scm, hatch-vcs, versioneer, pbr), no .git
    no_build_editable    the build backend has no PEP 660 editable hook
    build_requirements   the backend's own requirements cannot be met (e.g. under the date cutoff)
    compiler_missing     a C/C++ extension needs a compiler or headers the image lacks
    python_unsupported   the project or a dependency does not support the image's Python
    dependency_resolution  the dependencies have no solution (as of the task's date)
    dependency_build     a dependency without a wheel failed to build
    runner_crash         everything installed, but the test runner crashes on start
    repository           the commit or files cannot be read from the repository
    base_image           the base image is missing and cannot be made here
    other                anything else (the reason says what)
"""

from __future__ import annotations

import re

#: (class, pattern) in the order they are tried: the first match wins.
_RULES: tuple[tuple[str, str], ...] = (
    ("base_image", r"base image \S+ is missing"),
    ("repository", r"is not in .* fetch it|cannot clone|git (read-tree|checkout-index|ls-tree|log) .*failed"),
    ("runner_crash", r"test runner (crashes|does not start)|swefarm-install: no step"),
    (
        "vcs_version",
        r"unable to detect version|setuptools[-_]scm|hatch[-_]vcs|versioneer|pbr\b.*version|"
        r"Versioning for this project requires|dunamai|poetry[-_]dynamic[-_]versioning",
    ),
    ("no_build_editable", r"build_editable|does not support editable|PEP 660|editable mode is not supported"),
    (
        "build_requirements",
        r"resolving build dependencies|build-system\.requires|build requirements|"
        r"only (setuptools|wheel|flit[-_]core|poetry[-_]core|hatchling)\S* .*available",
    ),
    (
        "compiler_missing",
        r"gcc'? failed: No such file|gcc: (not found|command not found)|unable to execute '?\S*gcc|"
        r"Python\.h: No such file|error: command '\S*(gcc|g\+\+|cc)' failed|cc: command not found|"
        r"Microsoft Visual C\+\+|No CMAKE_C_COMPILER|[Cc]ompiler .* not found",
    ),
    (
        "python_unsupported",
        r"current Python version \([\d.]+\) does not satisfy|requires a different Python|"
        r"Requires-Python|only versions? .* (are|is) (available|compatible) .*python|"
        r"no wheels? .* for .*python|Python \d\.\d+ is not supported",
    ),
    ("dependency_resolution", r"No solution found|we can conclude|ResolutionImpossible|unsatisfiable"),
    ("dependency_build", r"Failed to (build|download and build|prepare)|error: subprocess-exited-with-error"),
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def classify_build_failure(reason: str) -> str:
    """The failure class of a build whose reason (with its log tail) is `reason`."""
    text = strip_ansi(reason)
    for code, pattern in _RULES:
        if re.search(pattern, text, re.IGNORECASE):
            return code
    return "other"


def strip_ansi(text: str) -> str:
    """`text` without terminal colour and cursor codes (uv and pip colour their errors)."""
    return _ANSI.sub("", text)
