"""bash: one fenced ```bash block per reply, as mini-swe-agent has models work.

The block's content is a command for the bash tool; a block holding only
`submit` ends the episode through the submit tool. No other tool exists in this
format, so models without tool-calling training can still act.
"""

from __future__ import annotations

import re

from swefarm.envs.formats import find_spec, render_thinking, strip_thinking
from swefarm.envs.models import ParseError, ToolCall

# a block opens with ```bash (or sh, shell) and closes at the next line holding only ```
_OPEN = re.compile(r"```(?:bash|shell|sh)[ \t]*\n")
_CLOSE_LINE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_OPENER = re.compile(r"```(?:bash|shell|sh)[ \t]*(?:\n|$)")
_FENCE_LINE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_SUBMIT = "submit"


class BashBlockFormat:
    name = "bash"

    def __init__(self, bash_tool: str = "bash", submit_tool: str = "submit", command_argument: str = "command"):
        self.bash_tool, self.submit_tool, self.command_argument = bash_tool, submit_tool, command_argument

    def instructions(self, tools: list[dict]) -> str:
        text = (
            "# How to act\n\nFirst think about what to do next, then write exactly one bash code block with the "
            "command to run:\n\n```bash\nyour command here\n```\n\n"
            "Rules:\n"
            "- Exactly one ```bash block per reply: a reply with none, or with more than one, is not run.\n"
            "- The block runs in a bash shell at the repository root, and the shell persists between replies: the "
            "working directory, exported variables and functions carry over. Chain steps with && in one block.\n"
            "- Commands cannot be interactive: no editors such as vim or nano, no prompts; edit files with sed, a "
            "heredoc or a script. There is no network, and a command that runs too long is stopped.\n"
            "- The output of the block comes back in the next message.\n"
        )
        if any(spec["function"]["name"] == self.submit_tool for spec in tools):
            text += "\nWhen you are done, reply with a block holding only the word submit:\n\n```bash\nsubmit\n```"
        return text

    def parse(self, text: str, tools: list[dict]) -> list[ToolCall]:
        text = strip_thinking(text)
        blocks = _blocks(text)
        bounds = [0, *(i for start, _, _, end in blocks for i in (start, end)), len(text)]
        rest = "".join(text[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2))
        if _OPENER.search(rest):
            what = "another ```bash block is" if blocks else "your ```bash block is"
            raise ParseError(f"{what} not closed: end it with a line holding only ```")
        if not blocks:
            raise ParseError(
                "no ```bash block found. Reply with exactly one block:\n```bash\nyour command\n```\n"
                "(or a block holding only `submit` to finish)"
            )
        if len(blocks) > 1:
            raise ParseError(f"found {len(blocks)} ```bash blocks; write exactly one per reply")
        _, body, body_end, _ = blocks[0]
        command = text[body:body_end].removesuffix("\n")
        if _OPENER.search(command):
            raise ParseError("a ```bash block was opened inside another; close each with a line holding only ```")
        if not command.strip():
            raise ParseError("the ```bash block is empty: put the command to run inside it")
        if command.strip() == _SUBMIT:
            call = ToolCall(name=self.submit_tool, arguments={})
        else:
            call = ToolCall(name=self.bash_tool, arguments={self.command_argument: command})
        find_spec(tools, call.name)
        return [call]

    def render(self, calls: list[ToolCall], thinking: str = "") -> str:
        if len(calls) != 1:
            raise ValueError(f"the bash format makes exactly one call per reply, not {len(calls)}")
        call = calls[0]
        if call.name == self.submit_tool:
            command = _SUBMIT
        elif call.name == self.bash_tool and set(call.arguments) == {self.command_argument}:
            command = call.arguments[self.command_argument]
            if not isinstance(command, str) or not _renderable(command):
                raise ValueError(f"the bash format cannot carry the command {command!r}")
        else:
            raise ValueError(
                f"the bash format carries only {self.bash_tool}({self.command_argument}) and {self.submit_tool}(), "
                f"not {call}"
            )
        return render_thinking(thinking) + f"```bash\n{command}\n```"


def _blocks(text: str) -> list[tuple[int, int, int, int]]:
    """(start, body start, body end, end) of each block, in order; linear in the text's length.

    Each block runs from an opener to the first closing line after it; an opener with no
    closing line after it ends the search (no later opener has one either).
    """
    found, pos = [], 0
    while (opener := _OPEN.search(text, pos)) and (closer := _CLOSE_LINE.search(text, opener.end())):
        found.append((opener.start(), opener.end(), closer.start(), closer.end()))
        pos = closer.end()
    return found


def _renderable(command: str) -> bool:
    """Whether parsing the block for `command` gives `command` back (not submit, no fence inside)."""
    return command.strip() not in ("", _SUBMIT) and not _FENCE_LINE.search(command) and not _OPENER.search(command)
