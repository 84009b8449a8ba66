"""The responses family: tool results worded as other tools word them, with latency and transient failures.

An episode draws a status style (the env's own, mini-swe-agent's
`<returncode>`, OpenHands', Codex's, a terminal's, JSON), an error prefix,
full or trimmed tracebacks, ANSI colour or none, a truncation style, an
occasional extra warning line, latency jitter, and a rate of transient
failures. The exit code, the error flag and the command's output are kept
(`info["tool_results"]` is unchanged); a transient failure runs nothing, is
marked `transient` in `info["tool_results"]` and says to retry, and never hits
the call right after one, so a retry always goes through.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field
from swefarm.envs.models import ToolCall, ToolResult
from swefarm.perturb.base import Episode
from swefarm.perturb.output_text import colour, render_command, split_status, trim_tracebacks, truncate

STYLES = ("plain", "returncode", "openhands", "codex", "terminal", "json")
ERROR_PREFIXES = ("Error: ", "ERROR: ", "error: ", "[tool error] ", "Exception: ")
TRUNCATIONS = ("head_tail", "head", "tail", "lines")
WARNINGS = (
    "bash: warning: setlocale: LC_ALL: cannot change locale (en_US.UTF-8)",
    "WARNING: terminal is not fully functional",
    "warning: the sandbox clock may be out of sync",
    "tput: No value for $TERM and no -T specified",
)
TRANSIENT = (
    "the tool server is busy (HTTP 503); the call was not run. Retry the same call.",
    "the connection to the sandbox was reset before the command started; nothing ran. Please retry.",
    "rate limited (HTTP 429): too many tool calls at once; nothing was executed. Retry the call.",
    "Resource temporarily unavailable (EAGAIN) while starting the tool; it did not run. Retry it.",
)


class ResponsesOptions(BaseModel):
    model_config = {"extra": "forbid"}

    styles: list[str] = Field(default_factory=lambda: list(STYLES))
    ansi_p: float = Field(0.3, ge=0, le=1, description="chance an episode's tools colour their output")
    trimmed_p: float = Field(0.5, ge=0, le=1, description="chance an episode's tracebacks are trimmed")
    warning_p: float = Field(0.3, ge=0, le=1, description="chance a command's output gets an extra warning line")
    jitter_s: float = Field(0.05, ge=0, description="most latency added to a call, in seconds")
    transient_p: float = Field(0.05, ge=0, le=1, description="chance a call fails transiently (never twice running)")


class ResponsesPerturbation:
    name = "responses"

    def __init__(self, **options: Any):
        self.options = ResponsesOptions(**options)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        opts = self.options
        return {
            "style": rng.choice(opts.styles),
            "error_prefix": rng.choice(ERROR_PREFIXES),
            "traceback": "trimmed" if rng.random() < opts.trimmed_p else "full",
            "ansi": rng.random() < opts.ansi_p,
            "truncation": rng.choice(TRUNCATIONS),
            "warning": rng.randrange(len(WARNINGS)),
            "warning_p": opts.warning_p,
            "jitter_s": opts.jitter_s,
            "transient_p": opts.transient_p,
        }

    def apply(self, params: dict[str, Any], episode: Episode) -> None:
        episode.around_tools(Responder(params, episode.seed, episode.config.max_observation_chars))


class Responder:
    """The middleware: fails a call transiently now and then, else runs it and rewords the result."""

    def __init__(self, params: dict[str, Any], seed: int, limit: int):
        self.params, self.limit = params, limit
        self.rng = random.Random(seed)
        self._after_failure = False

    def __call__(self, call: ToolCall, run) -> ToolResult:
        p = self.params
        fail, pause, warn = (self.rng.random() for _ in range(3))
        if p["jitter_s"]:
            time.sleep(pause * p["jitter_s"])
        if fail < p["transient_p"] and not self._after_failure:
            self._after_failure = True
            message = TRANSIENT[int(fail * 1e6) % len(TRANSIENT)]
            return ToolResult(output=self._finish(p["error_prefix"] + message), error=True, transient=True)
        self._after_failure = False
        return self.reword(run(), warn < p["warning_p"])

    def reword(self, result: ToolResult, warn: bool = False) -> ToolResult:
        p, text = self.params, result.output
        if result.exit_code is not None:  # a command: its status in this style's words
            body, stopped = split_status(text, result.exit_code)
            if p["traceback"] == "trimmed":
                body = trim_tracebacks(body)
            body = truncate(body, max(100, self.limit - 400), p["truncation"])
            if warn:
                body = f"{WARNINGS[p['warning']]}\n{body}"
            text = render_command(p["style"], body, result.exit_code, stopped)
        elif result.error:  # the env's or a tool's refusal
            text = p["error_prefix"] + text.removeprefix("Error: ")
        return replace(result, output=self._finish(text))

    def _finish(self, text: str) -> str:
        return colour(text) if self.params["ansi"] else text
