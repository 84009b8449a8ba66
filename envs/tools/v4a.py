"""The apply_patch block format Codex models write (OpenAI's "V4A" diff), parsed and applied to text.

    *** Begin Patch
    *** Update File: src/pkg/mod.py
    @@ def add(a, b):
    -    return a - b
    +    return a + b
    *** Add File: docs/NOTE.md
    +a new file, each line after a "+"
    *** Delete File: old.py
    *** End Patch

An update is a series of chunks; each starts at an `@@` line (which may name a
line to find first, such as the enclosing `def`) and holds context (" "),
removed ("-") and added ("+") lines. A chunk's old text (context and removed
lines) is looked up after the previous chunk, exactly, then ignoring trailing
whitespace, then ignoring surrounding whitespace; it must be found once.
`*** Move to: path` after an Update header renames the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PatchError(ValueError):
    """The patch cannot be read or does not fit the files; the message is for the agent."""


@dataclass
class Chunk:
    anchors: list[str] = field(default_factory=list)  # the @@ lines' text, found in order before the chunk
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    at_end: bool = False  # *** End of File: the chunk ends the file


@dataclass
class FileOp:
    kind: str  # add | update | delete
    path: str
    move_to: str | None = None
    lines: list[str] = field(default_factory=list)  # add: the new file's lines
    chunks: list[Chunk] = field(default_factory=list)


_HEADERS = {"*** Add File: ": "add", "*** Update File: ": "update", "*** Delete File: ": "delete"}


def parse(text: str) -> list[FileOp]:
    lines = text.strip().split("\n")
    if lines[0].strip() != "*** Begin Patch" or lines[-1].strip() != "*** End Patch":
        raise PatchError("an apply_patch block starts with '*** Begin Patch' and ends with '*** End Patch'")
    ops: list[FileOp] = []
    for line in lines[1:-1]:
        header = next((h for h in _HEADERS if line.startswith(h)), None)
        if header is not None:
            ops.append(FileOp(_HEADERS[header], line[len(header) :].strip()))
        elif not ops:
            raise PatchError(f"expected '*** Update File: PATH' (or Add File, Delete File), not {line[:60]!r}")
        else:
            _body_line(ops[-1], line)
    if not ops:
        raise PatchError("the patch changes no file")
    for op in ops:
        if not op.path:
            raise PatchError("a file header names no path")
        if op.kind == "update" and not op.chunks and op.move_to is None:
            raise PatchError(f"the update of {op.path} has no change (no @@ chunk)")
    return ops


def _body_line(op: FileOp, line: str) -> None:
    if op.kind == "delete":
        if line.strip():
            raise PatchError(f"'*** Delete File: {op.path}' takes no lines after it")
    elif op.kind == "add":
        if not line.startswith("+"):
            raise PatchError(f"every line of an added file starts with '+' ({op.path}: {line[:60]!r})")
        op.lines.append(line[1:])
    elif line.startswith("*** Move to: "):
        op.move_to = line[len("*** Move to: ") :].strip()
    elif line.strip() == "*** End of File":
        if not op.chunks:
            raise PatchError(f"'*** End of File' before any change in {op.path}")
        op.chunks[-1].at_end = True
    elif line.startswith("@@"):
        anchor = line[2:].strip()
        if not op.chunks or op.chunks[-1].old or op.chunks[-1].new:
            op.chunks.append(Chunk())
        if anchor:
            op.chunks[-1].anchors.append(anchor)
    else:
        if not op.chunks:
            op.chunks.append(Chunk())
        mark, rest = (line[:1], line[1:]) if line else (" ", "")
        if mark not in " -+":
            raise PatchError(f"a change line starts with ' ', '-' or '+' ({op.path}: {line[:60]!r})")
        chunk = op.chunks[-1]
        if mark in " -":
            chunk.old.append(rest)
        if mark in " +":
            chunk.new.append(rest)


def apply_update(text: str, op: FileOp) -> str:
    """`text` (a file's content) with the update's chunks applied."""
    lines = text.split("\n")
    trailing = lines[-1] == ""
    if trailing:
        lines.pop()
    pos = 0
    for n, chunk in enumerate(op.chunks, 1):
        for anchor in chunk.anchors:
            found = _find(lines, [anchor], pos, partial=True)
            if found is None:
                raise PatchError(f"{op.path}: chunk {n}: the line {anchor!r} after @@ was not found")
            pos = found + 1
        start = _find(lines, chunk.old, max(pos, len(lines) - len(chunk.old)) if chunk.at_end else pos)
        if start is None or start < pos:
            shown = "\n".join(chunk.old[:6])
            raise PatchError(
                f"{op.path}: chunk {n}: its context and removed lines were not found in the file"
                f"{' after the previous chunk' if pos else ''}:\n{shown}\nView the file and copy the lines exactly."
            )
        lines[start : start + len(chunk.old)] = chunk.new
        pos = start + len(chunk.new)
    return "\n".join(lines) + ("\n" if trailing or not lines else "")


def _find(lines: list[str], block: list[str], pos: int, partial: bool = False) -> int | None:
    """Where `block` starts at or after `pos`: exactly, then ignoring trailing and then all surrounding space."""
    if not block:
        return pos
    for norm in (lambda s: s, str.rstrip, str.strip):
        want = [norm(b) for b in block]
        for i in range(pos, len(lines) - len(block) + 1):
            got = [norm(line) for line in lines[i : i + len(block)]]
            if got == want or (partial and want[0] and want[0] in got[0]):
                return i
    return None
