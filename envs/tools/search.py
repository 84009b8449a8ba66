"""search: grep the repository for an extended regex, answering `path:line:text` relative to the workdir.

One `grep -rnIE` in a fresh shell. The pattern goes in with `-e` and the path
after `--`, both shell-quoted, so nothing the agent sends is read as an
option. Devices, FIFOs and sockets are skipped (`-D skip`), named or met: grep
would wait on a pipe nobody writes (/proc/self/fd/1 is its own output) until the
search's timeout, which is at most the env's command timeout. grep's -Z puts
a NUL after each file name, so names that hold ":" still split right; awk keeps
the first `max_results` matches (each cut short, so one minified line cannot
flood the answer) and counts the rest.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from swefarm.envs.models import ToolResult
from swefarm.envs.tools.schema import function_spec
from swefarm.sandbox import Sandbox

TIMEOUT_S = 60.0  # the longest a search runs (less when commands may run less: `timeout_s`)
LINE_CHARS = 200  # characters of a matching line shown
_RAW_CUT = 4000  # bytes awk keeps of a line (name and text) before Python cuts the text to LINE_CHARS
_COUNT = re.compile(r"^\x01count (\d+)$")


class SearchTool:
    def __init__(
        self, name: str = "search", workdir: str = "/testbed", max_results: int = 100, timeout_s: float = TIMEOUT_S
    ):
        self.name, self.workdir, self.max_results = name, workdir, max_results
        self.timeout_s = min(float(timeout_s), TIMEOUT_S)
        self.spec = function_spec(
            name,
            "Search file contents for a regular expression (grep -E syntax), recursively, skipping binary files "
            f"and .git. Answers `path:line:text` lines, at most {max_results}.",
            {
                "pattern": {"type": "string", "description": "an extended regular expression, e.g. def \\w+_cache"},
                "path": {"type": "string", "description": f"a file or directory to search (default {workdir})"},
                "include": {"type": "string", "description": "only files whose name matches this glob, e.g. *.py"},
            },
            ["pattern"],
        )

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult:
        pattern, path, include = arguments.get("pattern"), arguments.get("path") or ".", arguments.get("include")
        if not isinstance(pattern, str) or not pattern:
            return ToolResult(output="pattern must be a non-empty regular expression.", error=True)
        if not isinstance(path, str) or "\0" in path or "\0" in pattern or (include and "\0" in include):
            return ToolResult(output="pattern, path and include must be text without NUL characters.", error=True)
        target = posixpath.normpath(posixpath.join(self.workdir, path))
        if target == self.workdir or target.startswith(self.workdir.rstrip("/") + "/"):
            target = posixpath.relpath(target, self.workdir)  # so grep prints names relative to the workdir
        options = "-rnHIZE -D skip --exclude-dir=.git" + (f" --include={shlex.quote(include)}" if include else "")
        operand = "" if target == "." else " " + shlex.quote(target)  # none: grep -r names files without "./"
        cmd = (
            f"set -o pipefail; grep {options} -e {shlex.quote(pattern)} --{operand} | "
            f"awk -v m={self.max_results} 'NR <= m {{ print substr($0, 1, {_RAW_CUT}) }} "
            'END { printf "\\001count %d\\n", NR }\''
        )
        res = sandbox.run_stateless(
            cmd, timeout=self.timeout_s, cwd=self.workdir, max_output=self.max_results * (_RAW_CUT + 100) + 20_000
        )
        if res.timed_out:
            return ToolResult(
                output=f"The search ran past {self.timeout_s:g} s and was stopped; narrow it with path or include.",
                error=True,
                timed_out=True,
            )
        matches, messages, total = [], [], 0
        for line in res.output.split("\n"):
            if "\0" in line:
                name, _, rest = line.partition("\0")
                number, _, text = rest.partition(":")
                text = text.rstrip("\r")
                cut = text[:LINE_CHARS] + " [...]" if len(text) > LINE_CHARS else text
                matches.append(f"{name}:{number}:{cut}")
            elif counted := _COUNT.match(line):
                total = int(counted.group(1))
            elif line.strip():
                messages.append(line.strip())
        if res.exit_code not in (0, 1) and not matches:  # grep says 2 for a bad regex or a missing path
            return ToolResult(output="The search failed: " + "\n".join(messages[:5]), error=True, exit_code=2)
        shown = path if arguments.get("path") else self.workdir
        if not matches:
            where = f" in files matching {include}" if include else ""
            return ToolResult(output=f"No matches for {pattern!r} in {shown}{where}.", exit_code=1)
        output = "\n".join(matches)
        if total > len(matches):
            output += (
                f"\n[showing the first {len(matches)} of {total} matching lines; {total - len(matches)} more. "
                "Narrow the pattern, path or include to see them.]"
            )
        if messages:  # some files could not be read (grep exits 2 but matched elsewhere)
            output += "\n[grep also said: " + "; ".join(messages[:5]) + "]"
        return ToolResult(output=output, exit_code=0)
