"""One settings object for the API server and its workers, read from `SWEFARM_*` environment variables.

Every field `name` is read from `SWEFARM_<NAME>` (upper case); lists are comma-separated. Keyword
overrides (the CLI's flags) win over the environment. `swefarm serve` hands its settings to the
workers it starts with `to_env()`, so a worker always sees what the server saw.

Tokens: `SWEFARM_API_TOKENS` (comma-separated) and/or `SWEFARM_API_TOKENS_FILE` (one per line).
A token is at least 16 characters; each one is a separate owner of sessions, scaffolds and jobs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from swefarm.settings import current, read

MIN_TOKEN_LENGTH = 16
PREFIX = "SWEFARM_"

#: Policies a farm runs unless its operator says otherwise. The oracle is left out on purpose: its
#: trajectories carry the gold patch. Model backends on this host (transformers, vLLM, a local
#: OpenAI-compatible server) are in; a remote URL must be allowed explicitly (no SSRF by default).
DEFAULT_POLICIES = [
    "empty",
    "transformers",
    "transformers:*",
    "vllm",
    "vllm:*",
    "openai:http://127.0.0.1:*",
    "openai:http://localhost:*",
]


def default_database_url() -> str:
    return f"sqlite:///{current().home.expanduser() / 'api.db'}"


class Settings(BaseModel):
    """The farm's configuration: server, sessions, evaluations, workers, and the limits on what clients ask."""

    model_config = {"extra": "forbid"}

    # the server
    host: str = "127.0.0.1"
    port: int = Field(8600, ge=0, le=65535)
    database_url: str = Field(default_factory=default_database_url, description="SQLAlchemy URL of the state")
    api_tokens: list[str] = Field(default_factory=list, repr=False)
    api_tokens_file: str | None = None
    task_store: str | None = Field(None, description="the task store (default $SWEFARM_HOME/tasks.db)")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="largest request body accepted")
    api_url_file: str | None = Field(None, description="the server writes its URL here once it listens")
    local_workers: int = Field(1, ge=0, description="workers `swefarm serve` starts and supervises itself")
    # sessions
    session_idle_s: float = Field(600.0, gt=0, description="an idle session expires and frees its sandbox")
    max_session_idle_s: float = Field(3600.0, gt=0, description="the longest idle timeout a client may ask for")
    max_sessions_per_token: int = Field(64, ge=1)
    step_timeout_s: float = Field(7200.0, gt=0, description="how long the API waits for a worker's step")
    # evaluations
    allowed_policies: list[str] = Field(default_factory=lambda: list(DEFAULT_POLICIES))
    max_evaluation_episodes: int = Field(2000, ge=1)
    max_item_attempts: int = Field(3, ge=1, description="worker deaths an episode survives before it fails")
    # scaffold limits: what a client may set, at most
    max_steps_cap: int = Field(500, ge=1)
    wall_clock_cap_s: float = Field(7200.0, gt=0)
    command_timeout_cap_s: float = Field(1800.0, gt=0)
    # workers
    worker_host: str = "127.0.0.1"
    worker_port: int = Field(0, ge=0, le=65535, description="0: any free port (several workers on one host)")
    worker_url: str | None = Field(None, description="the URL the API reaches a worker at (default host:port)")
    worker_url_file: str | None = Field(None, description="a worker writes its URL here (for a healthcheck)")
    worker_sessions: int = Field(32, ge=1, description="live sessions one worker holds at most")
    worker_eval_slots: int = Field(2, ge=0, description="evaluation episodes one worker runs at once")
    pool_size: int = Field(2, ge=0, description="warm sandboxes per task image in a worker")
    heartbeat_s: float = Field(2.0, gt=0)
    worker_stale_s: float = Field(20.0, gt=0, description="a worker silent this long is dead")
    monitor_interval_s: float = Field(2.0, gt=0)
    poll_s: float = Field(0.5, gt=0, description="how often an idle worker looks for evaluation work")

    @field_validator("api_tokens", "allowed_policies", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Fields from `SWEFARM_<NAME>` variables (by `swefarm.settings`' rule: empty is unset), then
        `overrides` (None values are ignored)."""
        variables = {name: PREFIX + name.upper() for name in cls.model_fields}
        data: dict[str, Any] = read(os.environ if environ is None else environ, variables)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(data)

    def to_env(self) -> dict[str, str]:
        """These settings as `SWEFARM_*` variables (for a worker process)."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            env[PREFIX + name.upper()] = ",".join(value) if isinstance(value, list) else str(value)
        return env

    def tokens(self) -> list[str]:
        """Every configured token; ValueError when there is none or one is too short to be safe."""
        tokens = list(self.api_tokens)
        if self.api_tokens_file:
            path = Path(self.api_tokens_file).expanduser()
            try:
                lines = path.read_text().splitlines()
            except OSError as exc:
                raise ValueError(f"cannot read the token file {path}: {exc}") from None
            tokens += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        if not tokens:
            raise ValueError(
                "no API token is configured: set SWEFARM_API_TOKENS (comma-separated) or SWEFARM_API_TOKENS_FILE, "
                'e.g. export SWEFARM_API_TOKENS=$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        short = [t for t in tokens if len(t) < MIN_TOKEN_LENGTH]
        if short:
            raise ValueError(
                f"{len(short)} API token(s) are shorter than {MIN_TOKEN_LENGTH} characters; use longer ones"
            )
        return tokens
