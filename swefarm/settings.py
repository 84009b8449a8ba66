"""The process's settings: one object, read from the environment, that every layer asks.

    from swefarm.settings import current, swefarm_home
    current().max_sandboxes        # SWEFARM_MAX_SANDBOXES, default 64
    swefarm_home()                 # $SWEFARM_HOME (made if missing), default ~/.swefarm

`VARIABLES` lists every variable swefarm reads (its own `SWEFARM_*` ones and the few standard ones
it honours); nothing else in the project reads them from `os.environ`. One rule for all of them:
an empty value is the same as an unset one (compose passes unset variables as ""). `current()`
returns the same object while those variables stay the same and reads them again when one changes
(a test's monkeypatch, a variable a command exports), so it is always the process's.

The farm's own configuration (`api.farm.settings.Settings`: ports, tokens, limits) is separate,
and reads its `SWEFARM_<FIELD>` variables by the same rule (`read`).
This module imports nothing of swefarm's, so every layer, `tasks` included, may use it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: field -> the environment variable it is read from
VARIABLES = {
    "home": "SWEFARM_HOME",
    "models": "SWEFARM_MODELS",
    "vllm_python": "SWEFARM_VLLM_PYTHON",
    "max_sandboxes": "SWEFARM_MAX_SANDBOXES",
    "git_url": "SWEFARM_GIT_URL",
    "ca_bundle": "SWEFARM_CA_BUNDLE",
    "api_url": "SWEFARM_API_URL",
    "api_token": "SWEFARM_API_TOKEN",
    "github_token": "GITHUB_TOKEN",
    "openai_api_key": "OPENAI_API_KEY",
    "docker_host": "DOCKER_HOST",
}


class Settings(BaseModel):
    """Where swefarm keeps its state, its limits, and the credentials and addresses it was given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(default_factory=lambda: Path.home() / ".swefarm", description="state: stores, caches, venvs")
    models: Path | None = Field(None, description="converted models (default: <home>/models)")
    vllm_python: str | None = Field(None, description="the Python that runs vLLM (default: <home>/vllm-venv)")
    max_sandboxes: int = Field(64, ge=1, description="live sandboxes one process may hold")
    git_url: str = Field("https://github.com/{repo}.git", description="where repositories are cloned from")
    ca_bundle: str = Field(
        "/etc/ssl/certs/ca-certificates.crt", description="CA bundle builds trust ('none': add none)"
    )
    api_url: str | None = Field(None, description="the farm a client talks to")
    api_token: str | None = Field(None, repr=False, description="the client's bearer token")
    github_token: str | None = Field(None, repr=False)
    openai_api_key: str | None = Field(None, repr=False)
    docker_host: str | None = Field(None, description="the Docker engine (the SDK reads it too)")

    @property
    def models_dir(self) -> Path:
        return (self.models or self.home / "models").expanduser()


def read(environ: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """field -> value of each variable in `variables` (field -> name) that is set to something other than ""."""
    return {field: environ[name] for field, name in variables.items() if environ.get(name, "").strip() != ""}


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default: the process's); ValueError naming the variable when one is malformed."""
    environ = os.environ if environ is None else environ
    try:
        return Settings.model_validate(read(environ, VARIABLES))
    except ValidationError as exc:
        problems = "; ".join(f"{VARIABLES.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"bad swefarm setting: {problems}") from None


_lock = threading.Lock()
_cached: tuple[tuple[str | None, ...], Settings] | None = None


def current() -> Settings:
    """The process's settings (read again only when one of `VARIABLES` changed)."""
    global _cached
    key = tuple(os.environ.get(name) for name in VARIABLES.values())
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, load())
        return _cached[1]


def swefarm_home() -> Path:
    """$SWEFARM_HOME (default ~/.swefarm), made if missing."""
    path = current().home.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
