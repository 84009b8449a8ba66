"""Rewording tool output, for the responses family: the same facts in another tool's words.

Pure functions of the text (and a seeded RNG where one is needed). The exit
status and the command's own output always survive: tracebacks lose only their
middle frames, and only output longer than the episode's limit is cut (the env
would cut it anyway).
"""

from __future__ import annotations

import json
import re

#: How the env's bash tool reports a status, which the styles below replace.
_EXIT = re.compile(r"\n\[exit code (-?\d+)\]\Z")
_STOPPED = re.compile(r"\n\[the command (.+) and was stopped; the output so far is above\]\Z")
_TB_HEAD = "Traceback (most recent call last):"

RED, GREEN, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"
_FAIL_WORDS = re.compile(r"\b(FAILED|FAIL|ERROR)\b|^(Error|ERROR|error|Exception):|^\[tool error\]")
_PASS_WORDS = re.compile(r"\b(PASSED|OK)\b")


def split_status(text: str, exit_code: int | None) -> tuple[str, str | None]:
    """(the command's output, the env's timeout note or None) with the env's exit-code line taken off."""
    found = _EXIT.search(text)
    if found and exit_code is not None and int(found.group(1)) == exit_code:
        return text[: found.start()], None
    stopped = _STOPPED.search(text)
    if stopped:
        return text[: stopped.start()], stopped.group(1)
    return text, None


def render_command(style: str, body: str, exit_code: int, stopped: str | None) -> str:
    """A command's output and status as the tool of `style` would show them."""
    note = f"the command {stopped} and was stopped" if stopped else None
    if style == "returncode":  # mini-swe-agent
        extra = f"<warning>{note}</warning>\n" if note else ""
        return f"{extra}<returncode>{exit_code}</returncode>\n<output>\n{body}</output>"
    if style == "openhands":
        tail = f"[{note[0].upper()}{note[1:]}.]" if note else f"[Command finished with exit code {exit_code}]"
        return f"{body.rstrip(chr(10))}\n{tail}"
    if style == "codex":
        head = f"Exit code: {exit_code}" + (f" ({note})" if note else "")
        return f"{head}\nOutput:\n{body}"
    if style == "terminal":
        status = f"(stopped: {stopped})" if stopped else (f"(exit status {exit_code})" if exit_code else "")
        return f"{body.rstrip(chr(10))}\n{status}".rstrip("\n") if status else body
    if style == "json":
        record = {"exit_code": exit_code, "output": body}
        if note:
            record["timed_out"] = note
        return json.dumps(record, ensure_ascii=False)
    suffix = f"\n[{note}; the output so far is above]" if note else (f"\n[exit code {exit_code}]" if exit_code else "")
    return body + suffix  # "plain": the env's own wording


def trim_tracebacks(text: str, keep: int = 2) -> str:
    """Python tracebacks with only their last `keep` frames, and a line saying how many were hidden."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if lines[i].strip() != _TB_HEAD:
            out.append(lines[i])
            i += 1
            continue
        j, frames = i + 1, []
        while j < len(lines) and lines[j].startswith("  "):
            if lines[j].lstrip().startswith('File "'):
                frames.append([lines[j]])
            elif frames:
                frames[-1].append(lines[j])
            j += 1
        out.append(lines[i])
        if len(frames) > keep:
            out.append(f"  [... {len(frames) - keep} frames hidden ...]")
            frames = frames[-keep:]
        out.extend(line for frame in frames for line in frame)
        i = j
    return "\n".join(out)


def truncate(text: str, budget: int, style: str) -> str:
    """`text` cut to about `budget` characters in the manner of `style`; unchanged when it fits."""
    if len(text) <= budget:
        return text
    cut = len(text) - budget
    if style == "head":
        return f"{text[:budget]}\n<output truncated: {cut} more characters>"
    if style == "tail":
        return f"[{cut} characters omitted]\n{text[-budget:]}"
    if style == "lines":
        lines = text.split("\n")
        head, tail, size = [], [], 0
        for a, b in zip(lines, reversed(lines), strict=False):
            if size + len(a) + len(b) + 2 > budget or len(head) + len(tail) + 2 > len(lines):
                break
            head.append(a)
            tail.insert(0, b)
            size += len(a) + len(b) + 2
        hidden = len(lines) - len(head) - len(tail)
        return "\n".join([*head, f"... ({hidden} lines omitted) ...", *tail])
    half = budget // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def colour(text: str) -> str:
    """ANSI colours as a test runner in a terminal leaves them: FAILED and ERROR red, PASSED green, tracebacks
    and error prefixes red. Lower-case prose, and so the text of source files, is left alone."""
    out = []
    for line in text.split("\n"):
        if line.strip() == _TB_HEAD:
            out.append(f"{BOLD}{RED}{line}{RESET}")
            continue
        line = _FAIL_WORDS.sub(lambda m: f"{RED}{m.group(0)}{RESET}", line)
        out.append(_PASS_WORDS.sub(lambda m: f"{GREEN}{m.group(0)}{RESET}", line))
    return "\n".join(out)


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
