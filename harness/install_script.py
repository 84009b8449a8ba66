"""The script that installs a project into an environment image, falling back in steps.

One recipe does not fit every repository's age and packaging, so the environment build runs a
generated bash script that tries steps in order, each in a fresh venv, until the project installs
and its test runner starts (a trivial test runs):

1. `recipe`        the recipe as inferred (or as a dataset's spec gives it);
2. `no-isolation`  editable installs built outside build isolation, with the build requirements
                   unpinned beside a setuptools that has PEP 660 hooks (a pinned setuptools~=62.6);
3. `non-editable`  a plain install (every PEP 517 backend can build a wheel, even those with no
                   `build_editable`: old poetry-core, flit_core), the project's own distribution
                   then replaced by a .pth file that points at the checkout, so edits still count;
4. `legacy-setuptools` as 3, with the setuptools of 2020-02 (old setup.py files, the project's or a
                   dependency's, import what later setuptools removed, such as `Feature`);
5. `pytest3-runner` the first install that worked (its runner crashed), else the recipe's, then
                   pytest 3.10 (tasks older than pytest 4, which refuses old configuration);
6. `newer-runner`  as 5, with the test runner and its plugins (hypothesis too; a plugin the tests
                   import keeps its major version, whose API they call) as of the Python's own
                   maturity instead of the task's date (a 2016 pytest crashes on Python 3.9);
7. `unpinned`      the recipe with its requirements files' pins dropped (a pin that no longer builds
                   on this Python, markdown 2.6.4 on 3.9: the names resolve at the task's date);
8. `package-only`  the project and its extras without the requirements files (ancient pins that no
                   longer install), with the pytest plugins those files name, unpinned: lossy, so
                   after the fixes that keep every requirement;
9. `later-deps`    as 5, resolved LATER_DAYS after the task's date: a date can fall between two
                   releases that do not fit (numpy 1.26 out, the numba that supports it not yet);
                   tried only when an earlier failure came from a dependency.

Steps 2-4 run only when the recipe installs editably, 7-8 only when it names requirements files;
after a step that installed but whose runner crashed, install-only fixes (2-4) are skipped, and
5-6 only run when some install has worked. A fix on top of a fallback install is recorded by both
names (`legacy-setuptools+newer-runner`). A step that fails for want of a compiler installs a
toolchain and is tried once more. Compiled dependencies that take long to build from source, or
need libraries the image lacks (numpy, scipy, numba, ... : WHEELS_ONLY), install from wheels only:
when the task's date has no wheel of one for this Python (numba 0.52, numpy 1.18 on 3.9), the step is
tried once more with those packages resolved as of the Python's maturity (the first releases with its
wheels), recorded as `+later-wheels` on the step's name; compiling them is the last step,
`compile-deps`, tried only when wheels were missing and nothing else worked. Versions from git
(setuptools-scm, hatch-vcs, pbr; versioneer through its git keywords, expanded for the install only) are given as
the version of the newest tag, since the build context has no .git. The step that worked is
printed as `swefarm-install-step: NAME` and written to /opt/swefarm/install-step.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from swefarm.tasks.models import Environment

#: Printed by the script when a step worked: `swefarm-install-step: <name>`.
STEP_MARKER = "swefarm-install-step:"
#: Printed after it when numpy is installed: the AVX-512 targets it dispatches (NPY_DISABLE_CPU_FEATURES).
SIMD_MARKER = "swefarm-npy-disable:"
#: Build backends and the tools they build with; their requirements resolve as of BUILD_TOOLS_FLOOR at
#: the earliest, since under an old task date they may be unsatisfiable or lack PEP 660 hooks.
BUILD_TOOLS = (
    "setuptools",
    "wheel",
    "setuptools-scm",
    "setuptools-rust",
    "hatchling",
    "hatch-vcs",
    "hatch-fancy-pypi-readme",
    "flit-core",
    "poetry-core",
    "pdm-backend",
    "pdm-pep517",
    "editables",
    "scikit-build-core",
    "meson-python",
)
#: setuptools 68, wheel 0.40, hatchling 1.18, flit_core 3.9, poetry-core 1.6, pdm-backend 2.1: all with PEP 660.
BUILD_TOOLS_FLOOR = "2023-07-01T00:00:00Z"
#: setuptools 45.2 (2020-02), the last before 46 removed what old setup.py files import (`Feature`),
#: and new enough to run on Python 3.9 (40.x reads html.parser's `unescape`, gone in 3.9): for the
#: legacy-setuptools step, which also builds the dependencies with it (zope.interface 4.4 imports `Feature`).
LEGACY_SETUPTOOLS_FLOOR = "2020-03-01T00:00:00Z"
#: Dependencies installed from wheels only: compiling one from source takes tens of minutes on a small
#: machine (pvlib 2020's numba 0.52 compiled numpy for 40 minutes, then failed) or needs libraries the
#: image lacks. Without a wheel at the task's date they resolve as of the Python's maturity.
WHEELS_ONLY = (
    "numpy",
    "scipy",
    "pandas",
    "numba",
    "llvmlite",
    "matplotlib",
    "h5py",
    "netcdf4",
    "tables",
    "scikit-learn",
    "scikit-image",
    "pyarrow",
    "statsmodels",
    "shapely",
    "pyproj",
    "grpcio",
)
#: Printed by uv when a WHEELS_ONLY package has no wheel for this Python in the date's window.
NO_WHEEL = "Wheels are required for `"
#: The last pytest 3 (3.10.1): newer than what crashes on Python 3.9, older than pytest 4, which refuses
#: old configuration (a [pytest] section in setup.cfg).
PYTEST3_LAST = "2018-11-12T00:00:00Z"
#: Test runners and what they load at start: resolved as of the Python's maturity in the newer-runner step.
RUNNER_PACKAGES = ("pytest", "pluggy", "py")
#: The command that repeats the first install that worked (whose runner crashed), else the recipe's.
INSTALLED = "swefarm_installed"
#: How much later the last step resolves dependencies: long enough for a release that fits the others.
LATER_DAYS = 180
#: Words in a log that say a C compiler or Python's headers are missing.
NEEDS_COMPILER = (
    r"gcc'? failed: No such file|unable to execute '?[a-z0-9_-]*gcc|gcc: (not found|command not found)|"
    r"Python\.h: No such file|command '[a-z0-9_-]*(gcc|g\+\+|cc)' failed|cc: command not found|"
    r"No CMAKE_C_COMPILER could be found|error: (Microsoft Visual C|no acceptable C compiler)"
)
TOOLCHAIN = "build-essential pkg-config libffi-dev libssl-dev libxml2-dev libxslt1-dev zlib1g-dev libyaml-dev"
_EDITABLE = re.compile(r"(^|\s)(-e|--editable)(\s+|=)")


@dataclass
class ScriptInputs:
    """What the script needs beyond the recipe: dates, the version from git, the runner, build requirements."""

    date: str = ""  # UV_EXCLUDE_NEWER: the environment commit's date (UTC, RFC 3339), "" for none
    python_floor: str = ""  # when the base's Python had matured: test runners resolve as of then at the latest
    vcs_version: str = ""  # the version a VCS-versioned build should report
    runner: str = "pytest"
    build_requires: list[str] = field(default_factory=list)  # names from build-system.requires


def needs_isolation_fallback(env: Environment) -> bool:
    """Whether the recipe installs anything editably (steps 2-3 apply)."""
    return any(_EDITABLE.search(cmd) for cmd in env.install)


def install_script(env: Environment, inputs: ScriptInputs) -> str:
    """The bash script that installs `env`'s project in /testbed into /opt/venv, step by step."""
    recipe = [*env.install]
    if env.packages:
        recipe.append("uv pip install " + " ".join(shlex.quote(p) for p in env.packages))
    steps = [("recipe", "install", recipe)]
    if needs_isolation_fallback(env):
        unpinned = sorted({*inputs.build_requires, "setuptools>=64", "wheel", "editables"})
        prep = "uv pip install " + " ".join(shlex.quote(r) for r in unpinned)
        steps.append(("no-isolation", "install", [prep, "export SWEFARM_NO_ISOLATION=1", *recipe]))
        steps.append(("non-editable", "install", ["export SWEFARM_NO_EDITABLE=1", *recipe, "swefarm_link_checkout"]))
        legacy = f"SWEFARM_BUILD_FLOOR={LEGACY_SETUPTOOLS_FLOOR}"
        steps.append(
            ("legacy-setuptools", "install", [legacy, "export SWEFARM_NO_EDITABLE=1", *recipe, "swefarm_link_checkout"])
        )
    upgrade = 'UV_EXCLUDE_NEWER="$SWEFARM_RUNNER_DATE" uv pip install --upgrade ' + " ".join(RUNNER_PACKAGES)
    # the runner fixes start from the first install that worked (its runner crashed), else the recipe
    if inputs.date and inputs.date < PYTEST3_LAST:  # pytest 4 rejects a [pytest] section in setup.cfg
        steps.append(
            ("pytest3-runner", "runner", [INSTALLED, f"SWEFARM_RUNNER_DATE={PYTEST3_LAST}", "swefarm_upgrade_runner"])
        )
    steps.append(
        ("newer-runner", "runner", [INSTALLED, "SWEFARM_RUNNER_DATE=$SWEFARM_PY_FLOOR", "swefarm_upgrade_runner"])
    )
    if env.requirements_files:  # the requirement files' names without their pins, resolved at the date
        unpin = [f"swefarm_unpin {shlex.quote(f)} > {_unpinned_path(f)}" for f in env.requirements_files]
        steps.append(("unpinned", "runner", [*unpin, *(_with_unpinned_files(cmd) for cmd in recipe)]))
    if env.requirements_files:  # lossy: after the fixes that keep every requirement
        minimal = [c for c in (_without_requirement_files(cmd) for cmd in recipe) if c]
        if inputs.runner == "pytest":  # the package plus the test runner of the task's date, and the
            # pytest plugins the files name, unpinned (the configuration may rely on one: pytest-django)
            files = " ".join(shlex.quote(f) for f in env.requirements_files)
            minimal.append(f"uv pip install pytest $(swefarm_plugins_named {files})")
        steps.append(("package-only", "runner", minimal))
    if inputs.date:  # a date that fell between two releases that do not fit (numpy 1.26, numba 0.58.0)
        later = _later(_plus_days(inputs.date, LATER_DAYS), inputs.python_floor)
        steps.append(("later-deps", "deps", [f"export UV_EXCLUDE_NEWER={shlex.quote(later)}", INSTALLED]))
    # the last resort: compile what had no wheel (the first install that worked, else the recipe)
    steps.append(("compile-deps", "compile", ["export SWEFARM_COMPILE=1", INSTALLED]))
    return _render(env, inputs, steps, upgrade)


def _plus_days(when: str, days: int) -> str:
    moment = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ") + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_requirement_files(cmd: str) -> str:
    if not cmd.startswith("uv pip install "):
        return cmd
    words = shlex.split(cmd)
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("-r", "--requirement"):
            skip = True
            continue
        if word.startswith(("-r", "--requirement=")) and word not in ("-r",):
            continue
        out.append(word)
    return shlex.join(out) if len(out) > 3 else ""


def _unpinned_path(path: str) -> str:
    return "/tmp/swefarm-unpinned-" + re.sub(r"[^A-Za-z0-9_.-]", "_", path)


def _with_unpinned_files(cmd: str) -> str:
    """`cmd` with each `-r FILE` reading FILE's unpinned copy instead."""
    if not cmd.startswith("uv pip install "):
        return cmd
    out, swap = [], False
    for word in shlex.split(cmd):
        if swap:
            out.append(_unpinned_path(word))
            swap = False
        elif word in ("-r", "--requirement"):
            out.append(word)
            swap = True
        elif word.startswith("--requirement="):
            out.append("--requirement=" + _unpinned_path(word.split("=", 1)[1]))
        elif word.startswith("-r") and len(word) > 2:
            out.append("-r" + _unpinned_path(word[2:]))
        else:
            out.append(word)
    return shlex.join(out)


def _render(env: Environment, inputs: ScriptInputs, steps, upgrade: str) -> str:
    vcs = shlex.quote(inputs.vcs_version or "0.0.0")
    lines = [
        "#!/bin/bash",
        "# Generated by swefarm (harness/install_script.py): install the project, falling back in steps.",
        "set -u",
        "cd /testbed",
        f"export UV_EXCLUDE_NEWER={shlex.quote(inputs.date)}",
        '[ -n "$UV_EXCLUDE_NEWER" ] || unset UV_EXCLUDE_NEWER',
        # build tools of an old date lack PEP 660 hooks or are unsatisfiable: they resolve as of the floor
        f"SWEFARM_BUILD_FLOOR={BUILD_TOOLS_FLOOR if inputs.date and inputs.date < BUILD_TOOLS_FLOOR else ''}",
        f"SWEFARM_PY_FLOOR={shlex.quote(_later(inputs.date, inputs.python_floor or inputs.date))}",
        f"SWEFARM_RUNNER={shlex.quote(inputs.runner)}",
        'SWEFARM_WHEELS_FLOOR=""  # set once a wheels-only dependency had no wheel at the date',
        'SWEFARM_COMPILE=""  # the compile-deps step: wheels-only dependencies may build from source',
        # versions from git: the build context has no .git (class 1); the version of the newest tag
        f"export SETUPTOOLS_SCM_PRETEND_VERSION={vcs} PBR_VERSION={vcs} PDM_BUILD_SCM_VERSION={vcs}",
        f"export POETRY_DYNAMIC_VERSIONING_BYPASS={vcs} VERSIONINGIT_FOR_PACKAGE={vcs} HATCH_VCS_PRETEND_VERSION={vcs}",
        "export PYTHONDONTWRITEBYTECODE=",
        _UV_WRAPPER.replace("@BUILD_TOOLS@", " ".join(BUILD_TOOLS)).replace("@WHEELS_ONLY@", " ".join(WHEELS_ONLY)),
        _HELPERS.replace("@UPGRADE@", upgrade)
        .replace("@NEEDS_COMPILER@", NEEDS_COMPILER)
        .replace("@TOOLCHAIN@", TOOLCHAIN)
        .replace("@NO_WHEEL@", NO_WHEEL),
    ]
    if inputs.vcs_version:  # versioneer reads no variable: its keywords say the tag while the script runs
        lines.append(f"swefarm_versioneer {vcs} && trap swefarm_versioneer_restore EXIT")
    if env.pre_install:
        lines.append("echo '== pre-install'")
        lines.append("( set -x\n" + "\n".join(f"{c} || exit 1" for c in env.pre_install) + "\n) || exit 1")
    for i, (name, kind, commands) in enumerate(steps):
        # each command checked: errexit is off inside a function called from a condition, as swefarm_try is
        body = "\n".join(f"  {c} || exit 1" for c in commands) or "  true"
        lines.append(f"step_{i}() {{\n  set -ex\n{body}\n}}")
        # steps on top of the first install that worked (or the recipe's): see swefarm_try
        uses = int(INSTALLED in commands)
        lines.append(f"swefarm_try {shlex.quote(name)} {kind} step_{i} {uses} && exit 0")
    lines.append(_FAILED)
    return "\n".join(lines) + "\n"


def _later(a: str, b: str) -> str:
    return max(a, b) if a and b else (a or b)


# `uv pip install` with the build tools' floor (when there is one), and the flags a fallback step asks for.
_UV_WRAPPER = r"""uv() {
  if [ "${1:-}" = pip ] && [ "${2:-}" = install ]; then
    shift 2
    local args=("$@") extra=() x
    if [ -n "${SWEFARM_BUILD_FLOOR:-}" ]; then
      for x in @BUILD_TOOLS@; do extra+=(--exclude-newer-package "$x=$SWEFARM_BUILD_FLOOR"); done
    fi
    for x in ${SWEFARM_EXEMPT:-}; do extra+=(--exclude-newer-package "$x"); done
    if [ -z "${SWEFARM_COMPILE:-}" ]; then
      for x in @WHEELS_ONLY@; do extra+=(--only-binary "$x"); done
    fi
    # never earlier than the step's own cutoff (later-deps resolves later still)
    local floor=${SWEFARM_WHEELS_FLOOR:-}
    if [ -n "$floor" ] && [ -n "${UV_EXCLUDE_NEWER:-}" ] && [ "$floor" \> "$UV_EXCLUDE_NEWER" ]; then
      : > /tmp/swefarm-wheels-floor-used
      for x in @WHEELS_ONLY@; do
        case " ${SWEFARM_EXEMPT:-} " in *" $x="*) ;; *) extra+=(--exclude-newer-package "$x=$floor") ;; esac
      done
    fi
    if [ -n "${SWEFARM_NO_EDITABLE:-}" ]; then
      local out=() a
      for a in "${args[@]}"; do
        case "$a" in -e|--editable) ;; --editable=*) out+=("${a#--editable=}") ;; *) out+=("$a") ;; esac
      done
      args=("${out[@]}")
    fi
    [ -n "${SWEFARM_NO_ISOLATION:-}" ] && extra+=(--no-build-isolation)
    command uv pip install "${extra[@]}" "${args[@]}"
  else
    command uv "$@"
  fi
}"""

_HELPERS = r"""swefarm_fresh_venv() {
  rm -rf /opt/venv && python3 -m venv /opt/venv >/dev/null && hash -r
}
# Replace the project's installed distribution with a .pth that points at the checkout (src/ when the
# code lives there), so the tests import the code the agent edits.
swefarm_link_checkout() {
  python - <<'PY' || return 1
import json, pathlib, shutil, site, subprocess, sys
from importlib import metadata
mine = []
for dist in metadata.distributions():
    text = dist.read_text("direct_url.json") or "{}"
    if json.loads(text).get("url", "").rstrip("/") in ("file:///testbed", "file:///testbed/."):
        mine.append(dist.metadata["Name"])
for name in mine:
    subprocess.run(["uv", "pip", "uninstall", name], check=True)
root = pathlib.Path("/testbed")
src = root / "src"
paths = [str(src)] if src.is_dir() and any(p.suffix == ".py" or p.is_dir() for p in src.iterdir()) else [str(root)]
pathlib.Path(site.getsitepackages()[0], "_swefarm_checkout.pth").write_text("\n".join(paths) + "\n")
print("linked the checkout:", paths, "replacing", mine or "nothing")
PY
  if [ -f setup.py ] && grep -qE "Extension\(|ext_modules|cythonize" setup.py; then
    python setup.py build_ext --inplace || echo "swefarm: build_ext --inplace failed; compiled modules may be missing"
  fi
}
# The test runner and its plugins (pytest-*, coverage, and whatever registers a pytest11 entry point,
# such as hypothesis) as of $SWEFARM_RUNNER_DATE.
swefarm_upgrade_runner() {
  local plugins
  plugins=$(python - <<'PY'
import os, re
from importlib import metadata

# Test files (at most 3000): a plugin they import is also a library whose API they call, and its
# next major version may have removed it (hypothesis 4 dropped lists(average_size=...)): such a
# plugin is upgraded within its installed major version only.
texts = []
for root, dirs, files in os.walk(os.environ.get("SWEFARM_TESTBED", "/testbed")):
    dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "build", "dist")]
    in_tests = any(part in ("test", "tests", "testing") for part in root.split(os.sep))
    for f in files:
        if f.endswith(".py") and (in_tests or f.startswith("test") or f.endswith("_test.py") or f == "conftest.py"):
            if len(texts) < 3000:
                try:
                    texts.append(open(os.path.join(root, f), errors="replace").read())
                except OSError:
                    pass
names = set()
for dist in metadata.distributions():
    name = dist.metadata["Name"] or ""
    if name.lower().startswith("pytest-") or name.lower() == "coverage" or any(
        ep.group == "pytest11" for ep in dist.entry_points
    ):
        modules = (dist.read_text("top_level.txt") or "").split() or [name.lower().replace("-", "_")]
        used = re.compile(r"^\s*(from|import)\s+(%s)\b" % "|".join(map(re.escape, modules)), re.M)
        major = (dist.version or "").split(".")[0]
        if major.isdigit() and any(used.search(text) for text in texts):
            names.add(f"{name}<{int(major) + 1}")
        else:
            names.add(name)
print(" ".join(sorted(names)))
PY
)
  @UPGRADE@ $plugins || @UPGRADE@ $(echo "$plugins" | sed 's/<[0-9]*//g') || return 1
  # a plugin kept within its major that cannot import on this Python (hypothesis 3 on 3.8+): the newest
  # of the runner's date after all
  local broken
  broken=$(python - $plugins <<'PY'
import importlib, sys
from importlib import metadata
for spec in sys.argv[1:]:
    if "<" in spec:
        name = spec.split("<")[0]
        modules = (metadata.distribution(name).read_text("top_level.txt") or "").split()
        try:
            for module in modules or [name.lower().replace("-", "_")]:
                importlib.import_module(module)
        except Exception:
            print(name)
PY
)
  [ -z "$broken" ] || @UPGRADE@ $broken
}
# The runner starts and runs a trivial test with the project's own configuration (exit 0, or 5 when its
# configuration collects nothing from that file), beside the root and in each directory (up to three
# levels down) that holds a conftest.py, so that a conftest which cannot import (a missing test
# dependency, a binary built for another numpy) fails the step.
swefarm_smoke() {
  case "$SWEFARM_RUNNER" in
    pytest)
      local dirs=(.) d i=0 files=() rc
      while IFS= read -r d; do dirs+=("$d"); done < <(cd /testbed && find . -mindepth 2 -maxdepth 4 \
        -name conftest.py -not -path '*/.*' -not -path '*/node_modules/*' -printf '%h\n' | sort | head -n 8)
      for d in "${dirs[@]}"; do
        printf 'def test_swefarm_smoke():\n    assert True\n' > "/testbed/$d/test_swefarm_smoke_$i.py"
        files+=("$d/test_swefarm_smoke_$i.py"); i=$((i + 1))
      done
      (cd /testbed && PYTHONDONTWRITEBYTECODE=1 timeout 600 python -m pytest -p no:cacheprovider -q "${files[@]}")
      rc=$?
      (cd /testbed && rm -f "${files[@]}")
      [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] ;;
    *) python -c "import sys" ;;
  esac
}
swefarm_toolchain() {
  [ -f /tmp/swefarm-toolchain ] && return 1
  touch /tmp/swefarm-toolchain
  echo "== a compiler is missing: installing a toolchain"
  local dev=""
  [ "$(readlink -f "$(command -v python3)")" = "$(readlink -f /usr/bin/python3)" ] && dev=python3-dev
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends @TOOLCHAIN@ $dev
}
# uv names the packages its date cutoff filtered out of a failed resolution (some old releases carry
# no upload time at all); exempt exactly those, up to the release uv says would satisfy.
SWEFARM_EXEMPT=""
swefarm_exempt() {
  local found
  found=$(python3 - "$1" <<'PY'
import re, sys
from datetime import datetime, timedelta
text = open(sys.argv[1], errors="replace").read()
hint = r"`([A-Za-z0-9._-]+)` was filtered by `exclude-newer`[^\n]*?published at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)"
seen = set()
for name, when in re.findall(hint, text):
    if name not in seen:
        seen.add(name)
        after = datetime.fromisoformat(when) + timedelta(seconds=1)
        print(f"{name}={after:%Y-%m-%dT%H:%M:%S}Z")
PY
)
  found=$(for f in $found; do case " $SWEFARM_EXEMPT " in *" ${f%%=*}="*) ;; *) echo "$f" ;; esac; done)
  [ -n "$found" ] || return 1
  echo "== the date cutoff hid what resolution needs; exempting: $found"
  SWEFARM_EXEMPT="$SWEFARM_EXEMPT $found"
}
# A wheels-only dependency with no wheel for this Python at the task's date: once, resolve those
# packages as of the Python's maturity (when its wheels exist), when that is later than the date.
swefarm_later_wheels() {
  grep -qF '@NO_WHEEL@' "$1" || return 1
  touch /tmp/swefarm-no-wheel
  [ -z "$SWEFARM_WHEELS_FLOOR" ] || return 1
  [ -n "$SWEFARM_PY_FLOOR" ] && [ "$SWEFARM_PY_FLOOR" \> "${UV_EXCLUDE_NEWER:-}" ] || return 1
  local what
  what=$(sed -nE 's/.*Wheels are required for .([A-Za-z0-9._-]+).*/\1/p' "$1" | head -n1)
  echo "== no wheel of $what for this Python by the task's date: wheels-only dependencies as of $SWEFARM_PY_FLOOR"
  SWEFARM_WHEELS_FLOOR=$SWEFARM_PY_FLOOR
}
# versioneer takes the version from git keywords that `git archive` expands ($Format:%d$), else from
# git, else from the folder's name: none here, so a build reports 0+unknown and a dependency that
# requires the project (pvlib 0.8's pvfactors: pvlib>=0.5) cannot resolve. The keywords of the file
# setup.cfg's [versioneer] names are expanded with the newest tag while the script runs.
swefarm_versioneer() {
  python3 - "$1" <<'PY'
import configparser, pathlib, sys
cfg = configparser.ConfigParser(interpolation=None)
try:
    cfg.read("setup.cfg")
except configparser.Error:
    sys.exit(0)
source = cfg.get("versioneer", "versionfile_source", fallback="").strip()
prefix = cfg.get("versioneer", "tag_prefix", fallback="").strip().strip("'\"")
path = pathlib.Path(source)
if not source or not path.is_file() or path.is_symlink():
    sys.exit(0)
text = path.read_text()
if 'git_refnames = "$Format:%d$"' not in text:
    sys.exit(0)
pathlib.Path(f"{path}.swefarm-orig").write_text(text)
text = text.replace('git_refnames = "$Format:%d$"', f'git_refnames = " (tag: {prefix}{sys.argv[1]})"')
path.write_text(text.replace('git_full = "$Format:%H$"', 'git_full = "' + "0" * 40 + '"'))
print(f"versioneer: {path} reports {sys.argv[1]} while the project installs")
PY
}
swefarm_versioneer_restore() {
  local f
  while IFS= read -r f; do mv -f "$f" "${f%.swefarm-orig}"; done < <(find . -maxdepth 4 -name '*.swefarm-orig')
}
swefarm_note() { echo "$1" >> /tmp/swefarm-summary; }
# A requirements file with every requirement's version pins dropped (names, extras and markers kept;
# nested -r files unpinned too, URLs and options left out): pins that no longer build on this Python
# (markdown 2.6.4) give way to what the date resolves.
swefarm_unpin() {
  python3 - "$1" <<'PY'
import re, sys
from pathlib import Path
def unpin(path, seen):
    if path in seen or not Path(path).is_file():
        return
    seen.add(path)
    for line in Path(path).read_text(errors="replace").splitlines():
        line = line.split(" #")[0].strip()
        nested = re.match(r"^(?:-r|--requirement)[\s=]+(\S+)", line)
        if nested:
            unpin(str(Path(path).parent / nested.group(1)), seen)
            continue
        req, _, marker = line.partition(";")
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?)\s*(\(?[=<>!~][^;]*)?$", req.strip())
        if m:
            print(m.group(1) + (f"; {marker.strip()}" if marker.strip() else ""))
unpin(sys.argv[1], set())
PY
}
# The pytest plugins that requirements files name (by name only, without their pins).
swefarm_plugins_named() {
  cat "$@" 2>/dev/null | sed -nE 's/^[[:space:]]*(pytest[-_][A-Za-z0-9_.-]*[A-Za-z0-9]).*/\1/p' | sort -u
}
# Whether a failed step's trouble came from a dependency (an import error inside site-packages, a
# resolution with no solution, a dependency that did not build), not from the project itself.
swefarm_dependency_trouble() {
  grep -qs "/site-packages/" /tmp/swefarm-smoke-*.log && return 0
  grep -hsE "No solution found|Failed to (build|download|prepare)" /tmp/swefarm-step-*.log | grep -qv "file:///testbed"
}
# The most telling error line of a log (uv's `error:`, a Python exception, pytest's INTERNALERROR).
swefarm_error() {
  grep -m1 -E "^(error|ERROR)\b|^ *[A-Za-z_.]*(Error|Exception): |INTERNALERROR|^E +[A-Za-z_.]*Error" "$1" \
    | sed 's/^ *//' | cut -c1-400
}
SWEFARM_LAST=""
SWEFARM_INSTALLED=""  # the first step whose install worked but whose runner crashed
SWEFARM_INSTALLED_NAME=""
swefarm_installed() { "${SWEFARM_INSTALLED:-step_0}"; }
swefarm_try() {
  local name=$1 kind=$2 fn=$3 uses_installed=${4:-0}
  if [ "$kind" = install ] && [ "$SWEFARM_LAST" = runner ]; then
    echo "== step $name skipped: the last step installed, but its test runner crashed"; return 1
  fi
  if [ "$kind" = runner ] && [ "$uses_installed" = 1 ] && [ -z "$SWEFARM_INSTALLED" ]; then
    echo "== step $name skipped: it fixes the runner of an install, and no install has worked"; return 1
  fi
  if [ "$kind" = deps ] && ! swefarm_dependency_trouble; then
    echo "== step $name skipped: no failure so far came from a dependency"; return 1
  fi
  if [ "$kind" = compile ] && [ ! -f /tmp/swefarm-no-wheel ]; then
    echo "== step $name skipped: no wheels-only dependency lacked a wheel"; return 1
  fi
  echo "== step $name"
  swefarm_fresh_venv
  rm -f /tmp/swefarm-wheels-floor-used
  ( $fn ) > "/tmp/swefarm-step-$name.log" 2>&1
  local rc=$?
  local again=0
  while [ $rc -ne 0 ] && [ $again -lt 4 ]; do
    again=$((again + 1))
    if grep -qE "@NEEDS_COMPILER@" "/tmp/swefarm-step-$name.log" && swefarm_toolchain; then
      :
    elif swefarm_exempt "/tmp/swefarm-step-$name.log"; then
      :
    elif swefarm_later_wheels "/tmp/swefarm-step-$name.log"; then
      :
    else
      break
    fi
    swefarm_fresh_venv
    ( $fn ) > "/tmp/swefarm-step-$name.log" 2>&1
    rc=$?
  done
  if [ $rc -ne 0 ]; then
    SWEFARM_LAST=install

    echo "== step $name: the install failed (exit $rc):"; tail -n 40 "/tmp/swefarm-step-$name.log"
    swefarm_note "$name: the install failed: $(swefarm_error "/tmp/swefarm-step-$name.log")"
    return 1
  fi
  if ! swefarm_smoke > "/tmp/swefarm-smoke-$name.log" 2>&1; then
    SWEFARM_LAST=runner
    [ -n "$SWEFARM_INSTALLED" ] || { SWEFARM_INSTALLED=$fn; SWEFARM_INSTALLED_NAME=$name; }
    echo "== step $name: installed, but the test runner crashes on start:"; tail -n 30 "/tmp/swefarm-smoke-$name.log"
    swefarm_note "$name: installed, but the test runner crashes: $(swefarm_error "/tmp/swefarm-smoke-$name.log")"
    return 1
  fi
  # a fix on top of a fallback install is named by both (legacy-setuptools+newer-runner)
  if [ "$uses_installed" = 1 ] && [ -n "$SWEFARM_INSTALLED_NAME" ] && [ "$SWEFARM_INSTALLED_NAME" != recipe ]; then
    name="$SWEFARM_INSTALLED_NAME+$name"
  fi
  # the wheels-only packages resolved as of the Python's maturity in the install that worked
  [ -f /tmp/swefarm-wheels-floor-used ] && name="$name+later-wheels"
  mkdir -p /opt/swefarm && echo "$name" > /opt/swefarm/install-step
  echo "swefarm-install-step: $name"
  swefarm_simd
  rm -f /tmp/swefarm-step-*.log /tmp/swefarm-smoke-*.log
  return 0
}
# numpy picks its SIMD kernels by the CPU at run time, and its AVX-512 kernels round differently
# (pvlib's aoi of 1.2e-06 instead of 0): the AVX-512 targets this numpy dispatches, to be turned off
# in the image so that a test's result does not depend on the machine that grades it.
swefarm_simd() {
  python - <<'PY' 2>/dev/null || true
try:
    from numpy._core import _multiarray_umath as m
except ImportError:
    from numpy.core import _multiarray_umath as m
found = sorted(f for f in getattr(m, "__cpu_dispatch__", []) if f.startswith("AVX512"))
if found:
    print("swefarm-npy-disable:", " ".join(found))
PY
}"""

_FAILED = r"""echo "== the first step's log ends:"
tail -n 25 /tmp/swefarm-step-recipe.log 2>/dev/null
tail -n 25 /tmp/swefarm-smoke-recipe.log 2>/dev/null
echo "swefarm-install: no step worked:"
sed 's/^/  step /' /tmp/swefarm-summary
exit 1"""
