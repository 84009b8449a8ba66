"""The test runner's environment in a task image: its pytest plugins, the modules it imports, its sys.path roots.

Recorded when the environment image is built (`RECORD`, written by `harness/envprobe.py`
run with the image's interpreter) and read back at grade time; images built before the
record existed are probed at grade time instead, before the agent's change is applied,
when the container holds only the image and the repository at the base commit. Either
way nothing the agent wrote is read. Grading then turns pytest's plugin autoload off and
loads exactly these plugins by name, and drops any file that would shadow these modules.
"""

from __future__ import annotations

import json
import shlex
import threading
from pathlib import Path

from pydantic import BaseModel, Field
from swefarm.harness.testrun import InfraError
from swefarm.sandbox import Sandbox

RECORD = "/opt/swefarm/runner-env.json"
PROBE_SOURCE = Path(__file__).with_name("envprobe.py").read_text()
#: Dockerfile lines that record the probe in an environment image (envprobe.py is copied into the build context).
RECORD_STEPS = (
    "COPY envprobe.py /opt/swefarm/envprobe.py\n"
    f"RUN cd / && python -I /opt/swefarm/envprobe.py > {RECORD} || rm -f {RECORD}\n"
)
#: pytest loads plugins named with -p from entry points since 4.4; older ones keep autoload on.
ENTRY_POINT_P_SINCE = (4, 4)

_cache: dict[str, RunnerEnv] = {}
_cache_lock = threading.Lock()


class Plugin(BaseModel):
    name: str
    module: str
    dist: str | None = None


class RunnerEnv(BaseModel):
    """What envprobe.py found."""

    python: str = ""
    pytest: str | None = None
    plugins: list[Plugin] = Field(default_factory=list)
    modules: list[str] = Field(default_factory=list)
    roots: list[str] = Field(default_factory=lambda: [""])

    def autoload_off(self) -> bool:
        """Whether pytest can load the plugins by entry-point name, so autoload can be turned off."""
        return runner_version(self.pytest) >= ENTRY_POINT_P_SINCE

    def pytest_args(self) -> list[str]:
        """`-p NAME` for each plugin of the environment (none when autoload stays on)."""
        if not self.autoload_off():
            return []
        return [arg for plugin in self.plugins for arg in ("-p", plugin.name)]

    def env_vars(self) -> dict[str, str]:
        return {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"} if self.autoload_off() else {}


def write_probe(context: Path) -> None:
    """Put envprobe.py in a build context (for RECORD_STEPS)."""
    (context / "envprobe.py").write_text(PROBE_SOURCE)


def runner_env(sb: Sandbox, image_key: str) -> RunnerEnv:
    """The recorded environment of the sandbox's image, else a probe of it; cached per image in this process."""
    with _cache_lock:
        if image_key in _cache:
            return _cache[image_key]
    try:
        text = sb.read_file(RECORD).decode("utf-8", "replace")
    except FileNotFoundError:
        text = _probe(sb)
    try:
        found = RunnerEnv.model_validate(json.loads(text))
    except ValueError as exc:
        raise InfraError(f"the image's test environment record is unreadable: {exc}") from None
    with _cache_lock:
        _cache[image_key] = found
    return found


def _probe(sb: Sandbox) -> str:
    res = sb.run_stateless(f"cd / && python -I -c {shlex.quote(PROBE_SOURCE)}", timeout=120, max_output=4_000_000)
    if res.exit_code != 0:
        raise InfraError(f"probing the image's test environment failed: {res.output[-500:]}")
    return res.output


def runner_version(text: str | None) -> tuple[int, ...]:
    """(major, minor) of a version string such as pytest's "8.0.2" ((0, 0) when unknown)."""
    parts = []
    for piece in (text or "0").split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
