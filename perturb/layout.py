"""The layout family: a messy repository, laid out in the sandbox at reset, graded exactly as a clean one.

Noise kinds: untracked clutter at the root, stale build artefacts (a
`build/lib` copy of the package, a `dist/` archive, bytecode of other Python
versions), nested noise directories, a vendored copy of the package, and
misleading notes; and the shell may start somewhere other than the repository
root. Every noise path is listed in `.git/info/exclude` (without a comment
saying why), so the agent's diff, and so grading, never sees it; nothing
tracked is ever touched, and an item whose path already exists is skipped.

The script is built from the episode's parameters and fixed text alone: it
copies only what is already in the sandbox (the repository at the base
commit), so noise can never hold the gold patch or the hidden tests.
"""

from __future__ import annotations

import random
import shlex
from typing import Any

from pydantic import BaseModel, Field, field_validator
from swefarm.perturb.base import Episode, PerturbationError
from swefarm.perturb.layout_noise import CLUTTER, NESTED, NOTE_FILES, NOTES, VENDOR_DIRS

KINDS = ("clutter", "build", "nested", "vendored", "notes")
CWDS = ("repo", "subdir", "home", "noise")
STALE = 1685620800  # 2023-06-01: noise looks old

_FIND_PACKAGE = (
    "pkg=$(find . -path ./.git -prune -o -name __init__.py -print 2>/dev/null "
    "| grep -v -E '(^|/)(tests?|testing|docs?|examples?|vendor|build|third_party)(/|$)' "
    "| awk '{ print length($0) \" \" $0 }' | sort -n | head -1 | cut -d' ' -f2- | xargs -r dirname)\n"
    'name=$(basename "${pkg:-project}")\n'
)


class LayoutOptions(BaseModel):
    model_config = {"extra": "forbid"}

    kinds: list[str] = Field(default_factory=lambda: list(KINDS), description="noise kinds to draw from")
    min_kinds: int = Field(2, ge=1, description="fewest kinds an episode gets")
    cwds: list[str] = Field(default_factory=lambda: list(CWDS), description="where the shell may start")

    @field_validator("kinds", "cwds")
    @classmethod
    def _known(cls, value: list[str], info) -> list[str]:
        known = KINDS if info.field_name == "kinds" else CWDS
        unknown = [v for v in value if v not in known]
        if unknown or not value:
            raise ValueError(f"unknown {info.field_name} {', '.join(unknown) or '(none)'}; known: {', '.join(known)}")
        return value


class LayoutPerturbation:
    name = "layout"

    def __init__(self, **options: Any):
        self.options = LayoutOptions(**options)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        opts = self.options
        count = rng.randint(min(opts.min_kinds, len(opts.kinds)), len(opts.kinds))
        chosen = set(rng.sample(opts.kinds, count))
        kinds = [k for k in KINDS if k in chosen]
        params: dict[str, Any] = {"kinds": kinds, "cwd": rng.choice(opts.cwds)}
        if "clutter" in kinds:
            params["clutter"] = sorted(rng.sample(range(len(CLUTTER)), rng.randint(2, 4)))
        if "build" in kinds:
            params["pyc_tag"] = rng.choice(["cpython-38", "cpython-39", "cpython-310"])
        if "nested" in kinds:
            params["nested"] = rng.randrange(len(NESTED))
        if "vendored" in kinds:
            params["vendor_dir"] = rng.choice(VENDOR_DIRS)
        if "notes" in kinds:
            files = rng.sample(range(len(NOTE_FILES)), rng.randint(1, 2))
            params["notes"] = [[f, rng.randrange(len(NOTES))] for f in sorted(files)]
        return params

    def apply(self, params: dict[str, Any], episode: Episode) -> None:
        text = script(params)
        episode.setup(lambda sandbox: lay_out(sandbox, text))


def lay_out(sandbox, text: str) -> None:
    """Run the layout script in the sandbox's repository, then start the shell where it says."""
    workdir = sandbox.config.workdir
    res = sandbox.run_stateless(text, timeout=120, cwd=workdir)
    marker = "SWEFARM_CWD="
    cwd = next((line[len(marker) :] for line in res.output.splitlines() if line.startswith(marker)), None)
    if not res.ok or cwd is None:
        raise PerturbationError(f"the layout noise could not be laid out (exit {res.exit_code}): {res.output[-400:]}")
    if cwd and cwd != workdir:
        moved = sandbox.run(f"cd {shlex.quote(cwd)}", timeout=30)
        if not moved.ok:
            raise PerturbationError(f"the shell could not start in {cwd}: {moved.output[-200:]}")


def script(params: dict[str, Any]) -> str:
    """The bash script that lays the noise out (run at the repository root); it prints SWEFARM_CWD=<dir>."""
    lines = ["set -u", "umask 022", 'root="$PWD"', _FIND_PACKAGE, "noise=()"]
    if "clutter" in params["kinds"]:
        for i in params["clutter"]:
            path, content = CLUTTER[i]
            lines.append(_file(path, content))
    if "build" in params["kinds"]:
        lines.append(_build(params["pyc_tag"]))
    if "nested" in params["kinds"]:
        for path, content in NESTED[params["nested"]]:
            lines.append(_file(path, content))
    if "vendored" in params["kinds"]:
        lines.append(_vendored(params["vendor_dir"]))
    if "notes" in params.get("kinds", []):
        for f, n in params["notes"]:
            lines.append(_file(NOTE_FILES[f], NOTES[n]))
    lines.append(_finish(params))
    return "\n".join(lines)


def _file(path: str, content: str) -> str:
    """Write one noise file unless something is already at its path (its directories made as needed)."""
    q = shlex.quote(path)
    return (
        f"if [ ! -e {q} ]; then mkdir -p \"$(dirname {q})\" && printf '%s' {shlex.quote(content)} > {q} "
        f"&& noise+=({q}); fi"
    )


def _copy_package(dest: str, limit: int) -> str:
    """Copy up to `limit` of the package's .py files (never a test file) to `dest`, keeping their layout."""
    return (
        f"mkdir -p \"$root/{dest}\" && (cd \"$pkg\" && find . -name '*.py' ! -name 'test_*' ! -name '*_test.py' "
        f"! -name conftest.py ! -path '*/tests/*' ! -path '*/test/*' | sort | head -{limit} "
        f"| xargs -r -d '\\n' cp --parents -t \"$root/{dest}\")"
    )


def _build(pyc_tag: str) -> str:
    return (
        'if [ -n "$pkg" ] && [ ! -e "build/lib/$name" ]; then '
        + _copy_package("build/lib/$name", 40)
        + ' && noise+=("build/lib/$name"); fi\n'
        'if [ -n "$pkg" ]; then for mod in $(cd "$pkg" && ls *.py 2>/dev/null | head -3); do '
        f'f="$pkg/__pycache__/${{mod%.py}}.{pyc_tag}.pyc"; '
        'if [ ! -e "$f" ]; then mkdir -p "$pkg/__pycache__" && printf \'\\x00\\x00\\r\\nstale\' > "$f" && '
        'noise+=("${f#./}"); fi; done; fi\n'
        "if [ ! -e dist ]; then mkdir -p dist && printf 'stale sdist' > \"dist/$name-0.0.1.dev0.tar.gz\" && "
        "noise+=(dist); fi\n"
        "if [ ! -e .coverage ]; then printf '!coverage.py: stale data' > .coverage && noise+=(.coverage); fi"
    )


def _vendored(pattern: str) -> str:
    dest = pattern.replace("{name}", "${name}")
    return (
        f'if [ -n "$pkg" ] && [ ! -e "{dest}" ]; then '
        + _copy_package(dest, 60)
        + ' && printf "Vendored copy of %s (legacy build). Do not edit; update upstream instead.\\n" "$name" '
        f'> "{dest}/VENDORED.txt" && noise+=("{dest}"); fi'
    )


def _finish(params: dict[str, Any]) -> str:
    nested = NESTED[params["nested"]][0][0].rsplit("/", 1)[0] if "nested" in params else ""
    choose = {
        "repo": 'cwd="$root"',
        "subdir": 'cwd="$root/${pkg#./}"',
        "home": 'cwd="${HOME:-/tmp}"',
        "noise": f'cwd="$root/{nested}"; [ -n "{nested}" ] && [ -d "$cwd" ] || cwd="$root/${{pkg#./}}"',
    }[params["cwd"]]
    return (
        "mkdir -p .git/info\n"
        'for p in "${noise[@]}"; do p="${p#./}"; [ -d "$p" ] && p="$p/"; printf \'/%s\\n\' "$p"; done '
        ">> .git/info/exclude\n"
        f'for p in "${{noise[@]}}"; do find "$p" -exec touch -h -d @{STALE} {{}} + 2>/dev/null; '
        f'touch -h -d @{STALE} "${{p%%/*}}" 2>/dev/null; done\n'
        f"{choose}\n"
        'cwd="${cwd%/}"; echo "SWEFARM_CWD=$cwd"'
    )
