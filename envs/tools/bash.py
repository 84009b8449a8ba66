"""bash: a command in the episode's persistent shell (cd, export and functions persist between calls)."""

from __future__ import annotations

from typing import Any

from swefarm.envs.models import ToolResult
from swefarm.envs.tools.schema import function_spec
from swefarm.sandbox import Sandbox


class BashTool:
    def __init__(self, name: str = "bash", timeout_s: float = 120.0, idle_timeout_s: float | None = None):
        self.name, self.timeout_s, self.idle_timeout_s = name, timeout_s, idle_timeout_s
        self.spec = function_spec(
            name,
            "Run a bash command in a persistent shell at the repository root; the working directory and exported "
            f"variables persist between calls. There is no network. Commands stop after {timeout_s:g} s (or the "
            "timeout you give) and return the output so far.",
            {
                "command": {"type": "string", "description": "the command line to run"},
                "timeout": {"type": "integer", "description": f"seconds before it is stopped (at most {timeout_s:g})"},
            },
            ["command"],
        )

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult:
        timeout = min(float(arguments.get("timeout") or self.timeout_s), self.timeout_s)
        if timeout <= 0:
            return ToolResult(output="timeout must be a positive number of seconds", error=True)
        res = sandbox.run(arguments["command"], timeout=timeout, idle_timeout=self.idle_timeout_s)
        output = res.output
        if res.timed_out:
            why = "printed nothing for too long" if res.timeout_kind == "idle" else f"ran past {timeout:g} s"
            output += f"\n[the command {why} and was stopped; the output so far is above]"
        elif res.exit_code != 0:
            output += f"\n[exit code {res.exit_code}]"
        return ToolResult(output=output, error=not res.ok, exit_code=res.exit_code, timed_out=res.timed_out)
