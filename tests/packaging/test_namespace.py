"""One import namespace: the repository's folders install as `swefarm.<folder>`, nothing else at the top level."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (
    "api",
    "bench",
    "cli",
    "envs",
    "harness",
    "miner",
    "optimize",
    "perturb",
    "policy",
    "rewards",
    "sandbox",
    "tasks",
)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_installed_under_swefarm():
    setuptools = _pyproject()["tool"]["setuptools"]
    on_disk = {"swefarm"} | {
        "swefarm." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == on_disk
    assert setuptools["package-dir"] == {"swefarm": "swefarm", **{f"swefarm.{f}": f for f in FOLDERS}}


@pytest.mark.slow
def test_the_wheel_holds_only_swefarm(tmp_path):
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip_wheel, "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("swefarm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"swefarm"}
    assert "swefarm/envs/swe_env.py" in names and "swefarm/harness/overrides.yaml" in names
    assert "swefarm/sandbox/agent.py" in names  # sent into every container at start


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_generic_names_are_not_importable(tmp_path):
    for name in FOLDERS:
        res = _python(f"import {name}", tmp_path)
        assert "ModuleNotFoundError" in res.stderr, f"`import {name}` works outside swefarm: {res.stderr[-300:]}"


def test_gymnasium_make_with_the_module_prefix_needs_no_import(tmp_path):
    code = (
        "import gymnasium, sys\n"
        "assert 'swefarm' not in sys.modules\n"
        "try:\n"
        "    gymnasium.make('swefarm.envs:swe/Task-v0')\n"
        "except ValueError as exc:\n"
        "    print('needs a task:', exc)\n"
        "import swefarm\n"
        "print(swefarm.__version__, 'swe/Sampler-v0' in gymnasium.registry)\n"
    )
    res = _python(code, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "needs a task" in res.stdout  # the id resolved and SWEEnv itself asked for its task
    assert res.stdout.strip().endswith("True")
