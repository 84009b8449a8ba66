"""str_replace_editor: view, create and edit files, with undo (the SWE-agent / Anthropic tool's semantics).

Agents are trained on this tool's exact behaviour, so it follows it: `cat -n`
numbering, an edit must name text that occurs exactly once, every edit shows
a numbered snippet of the result. Files are read and written whole through
the sandbox's file calls; a `stat` first keeps huge files and FIFOs from
being read at all. Text is decoded strictly as UTF-8 and written back as it
was except for the edit: line endings are kept, and in a file that uses CRLF
throughout, the "\\n" the agent writes becomes "\\r\\n". Text holding a
lone surrogate (half of a character, as a broken JSON escape gives) is refused:
it is no text at all, and the editor writes exactly what it is given.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

from swefarm.envs.models import ToolResult
from swefarm.envs.tools.schema import function_spec
from swefarm.sandbox import Sandbox
from swefarm.sandbox.text import has_lone_surrogate

SNIPPET_LINES = 4  # context lines shown around an edit
_TEXT_ARGUMENTS = ("path", "file_text", "old_str", "new_str")


class _Refusal(Exception):
    """The call cannot be done as asked; the message is for the agent."""


class EditorTool:
    def __init__(
        self,
        name: str = "str_replace_editor",
        workdir: str = "/testbed",
        max_view_chars: int = 16000,
        max_file_bytes: int = 2_000_000,
    ):
        self.name, self.workdir = name, workdir
        self.max_view_chars, self.max_file_bytes = max_view_chars, max_file_bytes
        self._history: dict[str, list[bytes | None]] = {}  # absolute path -> contents before each edit (None: absent)
        self.spec = function_spec(
            name,
            "View, create and edit files.\n"
            "* `view` on a file shows it numbered like `cat -n` (`view_range` picks lines); on a directory it lists "
            "files and directories up to 2 levels deep, hidden ones excluded.\n"
            "* `create` makes a new file with `file_text`; it does not overwrite an existing file.\n"
            "* `str_replace` replaces `old_str`, which must occur exactly once in the file (whitespace included), "
            "with `new_str`.\n"
            "* `insert` puts `new_str` after line `insert_line` (0 puts it at the top).\n"
            "* `undo_edit` reverts the last edit made to the file with this tool.\n"
            f"Relative paths are taken from {workdir}.",
            {
                "command": {
                    "type": "string",
                    "enum": ["view", "create", "str_replace", "insert", "undo_edit"],
                    "description": "the command to run",
                },
                "path": {"type": "string", "description": "the file or directory, e.g. /testbed/pkg/mod.py"},
                "file_text": {"type": "string", "description": "`create`: the content of the new file"},
                "old_str": {"type": "string", "description": "`str_replace`: the exact text to replace"},
                "new_str": {
                    "type": "string",
                    "description": "`str_replace`: the replacement (empty if omitted); `insert`: the text to insert",
                },
                "insert_line": {"type": "integer", "description": "`insert`: the line after which new_str goes"},
                "view_range": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "`view` on a file: [start, end] lines, 1-based and inclusive; end -1 means the "
                    "last line",
                },
            },
            ["command", "path"],
        )

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult:
        handlers = {
            "view": self._view,
            "create": self._create,
            "str_replace": self._str_replace,
            "insert": self._insert,
            "undo_edit": self._undo,
        }
        command, path = arguments.get("command"), arguments.get("path")
        if command not in handlers:
            return ToolResult(output=f"Unknown command {command!r}; use one of {', '.join(handlers)}.", error=True)
        if not isinstance(path, str) or not path.strip() or "\0" in path:
            return ToolResult(output="path must name a file or directory.", error=True)
        for name in _TEXT_ARGUMENTS:
            value = arguments.get(name)
            if isinstance(value, str) and has_lone_surrogate(value):
                return ToolResult(output=_surrogate_refusal(name, value), error=True)
        try:
            return ToolResult(output=handlers[command](sandbox, self._abs(path), arguments))
        except _Refusal as exc:
            return ToolResult(output=str(exc), error=True)

    # -- commands --------------------------------------------------------------------
    def _view(self, sandbox: Sandbox, path: str, args: dict) -> str:
        stat = self._stat(sandbox, path)
        view_range = args.get("view_range")
        if stat[0] == "directory":
            if view_range is not None:
                raise _Refusal(f"{path} is a directory; view_range works only on files.")
            return self._list(sandbox, path)
        text, _ = self._read(sandbox, path, stat)
        lines = _display_lines(text)
        if not lines:
            return f"{path} is empty."
        start, end = self._check_range(view_range, len(lines)) if view_range is not None else (1, len(lines))
        header = f"Here's the result of running `cat -n` on {path}:\n"
        return header + self._numbered(lines[start - 1 : end], start, "use view_range to see the rest")

    def _create(self, sandbox: Sandbox, path: str, args: dict) -> str:
        file_text = args.get("file_text")
        if not isinstance(file_text, str):
            raise _Refusal("create needs file_text, the content of the new file.")
        kind, _ = self._stat(sandbox, path)
        if kind == "directory":
            raise _Refusal(f"{path} is a directory; create makes files.")
        if kind is not None:
            raise _Refusal(
                f"File already exists at {path}; create does not overwrite files: use str_replace to change it."
            )
        if len(file_text.encode()) > self.max_file_bytes:
            raise _Refusal(f"file_text is larger than the {self.max_file_bytes} bytes this editor handles.")
        self._write(sandbox, path, file_text, before=None)
        return f"File created successfully at: {path}"

    def _str_replace(self, sandbox: Sandbox, path: str, args: dict) -> str:
        old, new = args.get("old_str"), args.get("new_str") or ""
        if not isinstance(old, str) or not old:
            raise _Refusal("str_replace needs old_str, the non-empty text to replace.")
        if old == new:
            raise _Refusal("old_str and new_str are the same; nothing would change.")
        text, data = self._read(sandbox, path)
        if _is_crlf(text):
            old, new = _to_crlf(old), _to_crlf(new)
        starts = _occurrences(text, old)
        if not starts:
            raise _Refusal(
                f"No replacement was performed: old_str did not appear verbatim in {path}. "
                "View the file and copy the text exactly, whitespace and indentation included."
            )
        if len(starts) > 1:
            lines = ", ".join(str(text.count("\n", 0, s) + 1) for s in starts)
            raise _Refusal(
                f"No replacement was performed: old_str occurs {len(starts)} times in {path}, starting on lines "
                f"{lines}. Include more surrounding lines in old_str so that it is unique."
            )
        at = starts[0]
        new_text = text[:at] + new + text[at + len(old) :]
        self._write(sandbox, path, new_text, before=data)
        first = text.count("\n", 0, at) + 1
        return self._snippet(path, new_text, first, first + max(0, new.count("\n") - new.endswith("\n")))

    def _insert(self, sandbox: Sandbox, path: str, args: dict) -> str:
        new, line = args.get("new_str"), args.get("insert_line")
        if not isinstance(new, str):
            raise _Refusal("insert needs new_str, the text to insert.")
        if not isinstance(line, int) or isinstance(line, bool):
            raise _Refusal("insert needs insert_line, the line number after which new_str goes (0 for the top).")
        text, data = self._read(sandbox, path)
        lines = _split(text)
        if not 0 <= line <= len(lines):
            raise _Refusal(
                f"insert_line {line} is out of range: {path} has {len(lines)} lines, so use 0 to {len(lines)}."
            )
        eol = "\r\n" if _is_crlf(text) else "\n"
        block = _to_crlf(new) if eol == "\r\n" else new
        if line == len(lines) and text and not text.endswith("\n"):  # after an unterminated last line: keep it so
            new_text = text + eol + block
        else:
            block += "" if block.endswith("\n") else eol
            new_text = "".join(lines[:line]) + block + "".join(lines[line:])
        self._write(sandbox, path, new_text, before=data)
        return self._snippet(path, new_text, line + 1, line + max(1, len(_split(block))))

    def _undo(self, sandbox: Sandbox, path: str, args: dict) -> str:
        stack = self._history.get(path)
        if not stack:
            raise _Refusal(f"No edit history for {path}: there is nothing to undo.")
        before = stack[-1]
        if before is None:  # the last edit created the file
            res = sandbox.run_stateless(f"rm -f -- {shlex.quote(path)}", timeout=30)
            if not res.ok:
                raise _Refusal(f"Could not undo the creation of {path}: {res.output.strip()}")
        else:
            try:
                sandbox.write_file(path, before)
            except OSError as exc:
                raise _Refusal(f"Could not undo the last edit to {path}: {_why(exc)}.") from None
        stack.pop()
        if before is None:
            return f"Last edit to {path} undone successfully: it created the file, so the file was removed."
        lines = _display_lines(before.decode())
        shown = self._numbered(lines, 1, "use view to see the rest") if lines else "(the file is empty)"
        return f"Last edit to {path} undone successfully. Here's the result of running `cat -n` on it:\n{shown}"

    # -- helpers ---------------------------------------------------------------------
    def _abs(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.workdir, path))

    def _stat(self, sandbox: Sandbox, path: str) -> tuple[str | None, int]:
        """(kind, size) as `stat -L` says, kind None when nothing is there; refuses paths it cannot look at."""
        res = sandbox.run_stateless(f"stat -L -c '%F|%s' -- {shlex.quote(path)}", timeout=30, env={"LC_ALL": "C"})
        if res.ok:
            kind, _, size = res.output.strip().rpartition("|")
            return kind, int(size)
        reason = res.output.strip().rpartition(": ")[2] or f"stat failed with exit code {res.exit_code}"
        if reason == "No such file or directory":
            return None, 0
        raise _Refusal(f"Cannot access {path}: {reason}.")

    def _read(self, sandbox: Sandbox, path: str, stat: tuple[str | None, int] | None = None) -> tuple[str, bytes]:
        """The file's text and bytes; refuses what is not a UTF-8 text file of a size the editor handles."""
        kind, size = stat or self._stat(sandbox, path)
        if kind is None:
            raise _Refusal(f"The path {path} does not exist. Check it, or use create to make a new file.")
        if kind == "directory":
            raise _Refusal(f"{path} is a directory; only view works on directories.")
        if not kind.startswith("regular"):
            raise _Refusal(f"{path} is not a regular file (it is a {kind}).")
        if size > self.max_file_bytes:
            raise _Refusal(
                f"{path} is too large for the editor ({size} bytes; at most {self.max_file_bytes}). "
                "Use bash (grep, sed -n) to work on it."
            )
        try:
            data = sandbox.read_file(path)
        except OSError as exc:
            raise _Refusal(f"Cannot read {path}: {_why(exc)}.") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "\0"
        if "\0" in text:
            raise _Refusal(f"{path} is not UTF-8 text (it looks binary); the editor works only on text files.")
        return text, data

    def _write(self, sandbox: Sandbox, path: str, text: str, before: bytes | None) -> None:
        try:
            sandbox.write_file(path, text.encode())
        except OSError as exc:
            raise _Refusal(f"Cannot write {path}: {_why(exc)}.") from None
        self._history.setdefault(path, []).append(before)

    def _check_range(self, view_range: Any, n_lines: int) -> tuple[int, int]:
        ok = isinstance(view_range, list) and len(view_range) == 2
        if not ok or not all(isinstance(v, int) and not isinstance(v, bool) for v in view_range):
            raise _Refusal("view_range must be two integers [start, end], e.g. [10, 40] or [10, -1].")
        start, end = view_range
        if not 1 <= start <= n_lines:
            raise _Refusal(f"Invalid view_range {view_range}: start must be between 1 and {n_lines}, the file's lines.")
        if end == -1:
            return start, n_lines
        if not start <= end <= n_lines:
            raise _Refusal(
                f"Invalid view_range {view_range}: end must be between {start} and {n_lines} (the file's last "
                "line), or -1 for the end of the file."
            )
        return start, end

    def _numbered(self, lines: list[str], first: int, hint: str) -> str:
        """Lines numbered like `cat -n`, cut at max_view_chars with a note saying what is missing."""
        rows, size = [], 0
        for number, line in enumerate(lines, first):
            row = f"{number:6}\t{line}"
            if size + len(row) + 1 > self.max_view_chars:
                if not rows:  # one line longer than the whole budget: show its start
                    rows.append(row[: self.max_view_chars] + " [line cut]")
                last = first + len(rows) - 1
                rows.append(f"<response clipped: showing lines {first}-{last} of {first + len(lines) - 1}; {hint}>")
                break
            rows.append(row)
            size += len(row) + 1
        return "\n".join(rows)

    def _snippet(self, path: str, text: str, first: int, last: int) -> str:
        """The edited region, lines first..last, with SNIPPET_LINES of context either side."""
        lines = _display_lines(text)
        start, end = max(1, first - SNIPPET_LINES), min(len(lines), last + SNIPPET_LINES)
        shown = self._numbered(lines[start - 1 : end], start, "use view_range to see the rest")
        return (
            f"The file {path} has been edited. Here's the result of running `cat -n` on a snippet of {path}:\n"
            f"{shown}\nReview the changes and make sure they are as expected. Edit the file again if necessary."
        )

    def _list(self, sandbox: Sandbox, path: str) -> str:
        q = shlex.quote(path)
        cmd = f"find -H {q} -mindepth 1 -maxdepth 2 -name '.*' -prune -o -type d -printf '%p/\\n' -o -print"
        res = sandbox.run_stateless(cmd, timeout=60, max_output=4 * 1024 * 1024)
        entries = sorted(line for line in res.output.split("\n") if line)
        if not entries:
            return f"{path} is an empty directory."
        rows, size = [], 0
        for entry in entries:
            if size + len(entry) + 1 > self.max_view_chars:
                rows.append(f"<response clipped: {len(rows)} of {len(entries)} entries shown; view a subdirectory>")
                break
            rows.append(entry)
            size += len(entry) + 1
        header = f"Here are the files and directories up to 2 levels deep in {path}, excluding hidden items:\n"
        return header + "\n".join(rows)


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory"
    if isinstance(exc, NotADirectoryError):
        return "a parent of it is not a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).rstrip(".")  # a full disk, a file that is not a regular one, ...


def _surrogate_refusal(name: str, value: str) -> str:
    at = next(i for i, ch in enumerate(value) if "\ud800" <= ch <= "\udfff")
    return (
        f"{name} is not valid text: character {at} is the lone surrogate \\u{ord(value[at]):04x} (half of a "
        "character pair, e.g. a broken JSON escape). Write the character itself, or escape both halves of the pair."
    )


def _split(text: str) -> list[str]:
    """Lines with their "\\n" kept. Only "\\n" ends a line (as for cat -n and grep), unlike str.splitlines."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _display_lines(text: str) -> list[str]:
    """Lines as the agent sees them: no "\\n", and no "\\r" in a CRLF file (the edits add them back)."""
    lines = [line.removesuffix("\n") for line in _split(text)]
    return [line.removesuffix("\r") for line in lines] if _is_crlf(text) else lines


def _is_crlf(text: str) -> bool:
    return "\r\n" in text and text.count("\r\n") == text.count("\n")


def _to_crlf(text: str) -> str:
    """The agent's "\\n" as "\\r\\n", unless it wrote "\\r" itself (then it meant what it wrote)."""
    return text if "\r" in text else text.replace("\n", "\r\n")


def _occurrences(text: str, sub: str) -> list[int]:
    """Every start of `sub` in `text`, overlapping ones included (those make a replacement ambiguous too)."""
    starts, at = [], text.find(sub)
    while at != -1:
        starts.append(at)
        at = text.find(sub, at + 1)
    return starts
