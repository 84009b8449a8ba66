"""apply_patch: edit files by sending a patch, as Codex-style scaffolds have agents do.

Two forms are accepted: a unified diff as `git diff` writes it (applied with
`git apply --recount`, so hunk counts need not be exact; paths with or without
the a/ b/ prefixes), or an apply_patch block (`*** Begin Patch` ... `*** End
Patch`, see `envs.tools.v4a`). Either way the patch applies whole or not at all.
"""

from __future__ import annotations

import posixpath
import shlex
import uuid
from typing import Any

from swefarm.envs.models import ToolResult
from swefarm.envs.tools import v4a
from swefarm.envs.tools.schema import function_spec
from swefarm.sandbox import Sandbox

_NOT_FOUND = ("No such file or directory", "does not exist in index", "can't find file")


class ApplyPatchTool:
    def __init__(self, name: str = "apply_patch", workdir: str = "/testbed", timeout_s: float = 120.0):
        self.name, self.workdir, self.timeout_s = name, workdir, timeout_s
        self.spec = function_spec(
            name,
            "Edit files by applying a patch; it applies whole or not at all. Write either a unified diff, as "
            "`git diff` prints it (paths relative to the repository root), or an apply_patch block:\n"
            "*** Begin Patch\n*** Update File: path/to/file.py\n@@ a line to find first, e.g. the enclosing def\n"
            " context line\n-removed line\n+added line\n*** Add File: path/new.py\n+its first line\n"
            "*** Delete File: path/old.py\n*** End Patch",
            {"patch": {"type": "string", "description": "the unified diff or the apply_patch block"}},
            ["patch"],
        )

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult:
        patch = arguments.get("patch")
        if not isinstance(patch, str) or not patch.strip():
            return ToolResult(output="patch must be a non-empty unified diff or apply_patch block.", error=True)
        if patch.lstrip().startswith("*** Begin Patch"):
            try:
                return ToolResult(output=self._apply_block(sandbox, patch))
            except (v4a.PatchError, OSError) as exc:
                return ToolResult(output=f"The patch was not applied; nothing changed. {exc}", error=True)
        return self._git_apply(sandbox, patch if patch.endswith("\n") else patch + "\n")

    def _git_apply(self, sandbox: Sandbox, patch: str) -> ToolResult:
        path = f"/tmp/.swefarm-patch-{uuid.uuid4().hex}.diff"
        sandbox.write_file(path, patch)
        try:
            for strip in ("1", "0"):
                cmd = f"git apply --verbose --recount --whitespace=nowarn -p{strip} {shlex.quote(path)} 2>&1"
                res = sandbox.run_stateless(cmd, timeout=self.timeout_s, cwd=self.workdir)
                if res.ok or not any(marker in res.output for marker in _NOT_FOUND):
                    break
        finally:
            sandbox.run_stateless(f"rm -f {shlex.quote(path)}", timeout=30)
        lines = [line for line in res.output.splitlines() if not line.startswith("Checking patch")]
        if res.ok:
            return ToolResult(output="Patch applied.\n" + "\n".join(lines), exit_code=0)
        return ToolResult(
            output=f"The patch was not applied; nothing changed (git apply, exit code {res.exit_code}):\n"
            + "\n".join(lines)
            + "\nCheck that its context lines match the files exactly (view them first).",
            error=True,
            exit_code=res.exit_code,
            timed_out=res.timed_out,
        )

    def _apply_block(self, sandbox: Sandbox, patch: str) -> str:
        """Work out every file's new content first, then write: a chunk that does not fit changes nothing."""
        writes: dict[str, str | None] = {}  # absolute path -> new text, None to delete
        for op in v4a.parse(patch):
            path = self._abs(op.path)
            if op.kind == "add":
                writes[path] = "\n".join(op.lines) + "\n"
                continue
            try:
                text = sandbox.read_file(path).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise v4a.PatchError(f"{op.path} cannot be read as a text file ({type(exc).__name__})") from None
            if op.kind == "delete":
                writes[path] = None
                continue
            new_text = v4a.apply_update(text, op)
            if op.move_to:
                writes[path] = None
                path = self._abs(op.move_to)
            writes[path] = new_text
        for path, text in writes.items():
            if text is None:
                sandbox.run_stateless(f"rm -f -- {shlex.quote(path)}", timeout=30)
            else:
                sandbox.run_stateless(f"mkdir -p -- {shlex.quote(posixpath.dirname(path))}", timeout=30)
                sandbox.write_file(path, text)
        done = [posixpath.relpath(p, self.workdir) for p in writes]
        return "Patch applied. Changed: " + ", ".join(done)

    def _abs(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.workdir, path))
