"""submit: the agent says it is done; the env ends the episode and grades the working tree."""

from __future__ import annotations

from typing import Any

from swefarm.envs.models import ToolResult
from swefarm.envs.tools.schema import function_spec
from swefarm.sandbox import Sandbox


class SubmitTool:
    def __init__(self, name: str = "submit"):
        self.name = name
        self.spec = function_spec(
            name,
            "Submit your changes and end the task. Call it once the issue is fixed; the working tree is graded as it "
            "is then.",
            {},
            [],
        )

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult:
        return ToolResult(output="Submitted.", submitted=True)
