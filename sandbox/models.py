"""Data types of the sandbox layer: command results and sandbox configuration."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CommandResult(BaseModel):
    """What every command returns, whether it finished or timed out."""

    exit_code: int
    output: str
    duration: float = Field(description="seconds the command ran inside the sandbox")
    timed_out: bool = False
    timeout_kind: str | None = Field(None, description='"hard" or "idle" (no output) when timed_out')
    truncated: bool = Field(False, description="output was cut to max_output (head and tail kept)")
    output_bytes: int = Field(0, description="bytes the command wrote in all, before any cut")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class SandboxConfig(BaseModel):
    """Limits and layout of a sandbox. Every default is sealed: no network, no caps."""

    model_config = {"extra": "forbid"}  # a misspelt limit must not silently fall back to the default

    workdir: str = Field("/workspace", description="writable working directory (a size-limited tmpfs)")
    workspace_size: str = Field("1g", description="size of the workspace tmpfs")
    seed_workspace_from: str | None = Field(
        None, description="directory in the image copied into the workspace at start (e.g. the repository)"
    )
    workspace_inodes: int = Field(1_048_576, description="files the workspace may hold")
    tmp_size: str = Field("512m", description="size of the /tmp tmpfs")
    tmp_inodes: int = Field(65_536, description="files /tmp may hold")
    memory: str = Field(
        "2g", description="memory the processes can always use (swap disabled); the tmpfs sizes come on top"
    )
    cpus: float = Field(1.0, description="CPU limit in cores")
    pids_limit: int = Field(256, description="maximum processes and threads")
    nofile: int = Field(4096, description="open-file limit")
    network: bool = Field(False, description="give the sandbox a network (off by default)")
    read_only_root: bool = Field(True, description="mount the image's filesystem read-only")
    uid: int = Field(1000, gt=0, description="user the commands run as (never root)")
    max_lifetime_s: int = Field(24 * 3600, description="the container stops itself after this long")
    timeout_s: float = Field(120.0, description="default hard timeout per command")
    idle_timeout_s: float | None = Field(None, description="default no-output timeout per command")
    max_output: int = Field(30_000, description="characters of output returned (head and tail kept)")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")
