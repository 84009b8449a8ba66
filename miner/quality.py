"""Is a mined task's problem statement usable? Heuristic flags, and optionally a model's judgement.

    verdict = assess(task)                       # QualityVerdict(flags=["thin"], notes=["7 words ..."])
    verdict = judge_statement(task, judge, verdict)   # adds what a model says, through any Judge

Flags (codes, counted by `swefarm mine report`, filtered by `swefarm tasks list --quality`):

- `not_a_statement`: the text is a merge message (`Merge branch 'main' into patch-1`), a revert or
  a release/version bump: it describes no problem.
- `thin`: too little to act on: fewer than THIN_WORDS words, or a one-line title of fewer than
  TITLE_WORDS. Offline, statements come from commit messages, and those are often just a title.
- `leaks_fix`: the text gives the fix away: a diff, code lines the gold patch adds, or, for
  statements written from the change's own message (squash and merge messages describe what was
  done), a function or class the fix introduces, or what it replaced with what.

The heuristics read only the statement and the gold patch. A judge (a `Judge`: any model behind
`complete(prompt) -> text`; the CLI passes one of the policy backends) may add `thin` or `leaks_fix`;
its answer is kept verbatim.
"""

from __future__ import annotations

import re
from typing import Protocol

from swefarm.miner.git_source import is_merge_message
from swefarm.tasks.models import QualityVerdict, Task

THIN_WORDS = 20
TITLE_WORDS = 40
THIN, LEAKS_FIX, NOT_A_STATEMENT = "thin", "leaks_fix", "not_a_statement"
FLAGS = (NOT_A_STATEMENT, THIN, LEAKS_FIX)

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*")
_NOT_A_PROBLEM = re.compile(
    r"^(?:revert\b|bump\b|(?:release|version) v?\d+(?:\.\d+)+|prepare (?:for )?(?:the )?(?:release|v?\d)"
    r"|v?\d+(?:\.\d+)+\s*$|(?:update|set) version\b)",
    re.IGNORECASE,
)
_DIFF = re.compile(r"^(?:diff --git |@@ -\d+(?:,\d+)? \+\d+|\+\+\+ b/|--- a/)", re.MULTILINE)
_DEFINED = re.compile(r"^\+[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_CODE_CHARS = set("()[]{}=.:")
_REPLACED = re.compile(r"\b(?:replac\w*|instead of|in favou?r of|switch\w* (?:from|to)|rename\w*|use[sd]? )", re.I)


class Judge(Protocol):
    """A model that answers a prompt (the CLI wraps a policy backend: transformers, openai:URL, vllm)."""

    name: str

    def complete(self, prompt: str) -> str: ...


def assess(task: Task) -> QualityVerdict:
    """Heuristic flags for `task`'s problem statement (see the module docstring)."""
    statement = task.problem_statement.strip()
    from_message = (task.extra.get("mined") or {}).get("problem_statement_source") == "commit message"
    flags, notes = [], []
    first = statement.splitlines()[0] if statement else ""
    if not statement or is_merge_message(first) or _NOT_A_PROBLEM.match(first):
        flags.append(NOT_A_STATEMENT)
        notes.append(f"not a problem statement: {first[:80]!r}" if first else "the statement is empty")
    lines = [line for line in statement.splitlines() if line.strip()]
    words = len(_WORD.findall(statement))
    if words < THIN_WORDS or (len(lines) == 1 and words < TITLE_WORDS):
        flags.append(THIN)
        notes.append(f"thin: {words} words on {len(lines)} line(s)")
    if leak := leaked(statement, task.patch, from_message):
        flags.append(LEAKS_FIX)
        notes.append(f"leaks the fix: {leak}")
    return QualityVerdict(flags=flags, notes=notes)


def leaked(statement: str, patch: str, from_message: bool) -> str:
    """How `statement` gives away the fix in `patch`, or "" when it does not seem to."""
    if _DIFF.search(statement):
        return "it holds a diff"
    added, removed = _changed_lines(patch)
    flat = _normalise(statement)
    for line in sorted(added - removed, key=len, reverse=True):
        if len(line) >= 12 and _CODE_CHARS & set(line) and line in flat:
            return f"it holds a line the fix adds: {line[:80]!r}"
    if not from_message:
        return ""  # an issue may name the API it asks for: that is the request, not the fix
    mentioned = set(_IDENT.findall(statement))
    new_names = set(_DEFINED.findall(patch)) - set(_IDENT.findall(_unchanged_text(patch)))
    if named := sorted(n for n in new_names & mentioned if len(n) > 3):
        return f"it names what the fix defines: {', '.join(named[:3])}"
    old_idents = _code_idents(removed) - _code_idents(added)
    new_idents = _code_idents(added) - _code_idents(removed)
    if _REPLACED.search(statement) and (old_idents & mentioned) and (new_idents & mentioned):
        old, new = sorted(old_idents & mentioned)[0], sorted(new_idents & mentioned)[0]
        return f"it says what the fix replaced with what ({old} -> {new})"
    return ""


def _changed_lines(patch: str) -> tuple[set[str], set[str]]:
    added, removed = set(), set()
    for line in patch.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added.add(_normalise(line[1:]))
        elif line.startswith("-") and not line.startswith("---"):
            removed.add(_normalise(line[1:]))
    return {a for a in added if a}, {r for r in removed if r}


def _unchanged_text(patch: str) -> str:
    """The patch's removed and context lines and hunk headers: what existed before the change."""
    keep = [line[1:] for line in patch.splitlines() if line[:1] in ("-", " ") and not line.startswith("---")]
    keep += [line.split("@@", 2)[-1] for line in patch.splitlines() if line.startswith("@@")]
    return "\n".join(keep)


def _code_idents(lines: set[str]) -> set[str]:
    """Identifiers that look like code, not prose: with an underscore, a dot-free camel hump, or digits."""
    out = set()
    for line in lines:
        for ident in _IDENT.findall(line):
            if len(ident) > 3 and ("_" in ident or re.search(r"[a-z][A-Z]", ident)):
                out.add(ident)
    return out


def _normalise(text: str) -> str:
    return " ".join(text.split())


JUDGE_PROMPT = """You review tasks for training software engineers. A task gives an engineer only the \
PROBLEM STATEMENT below and asks them to change the repository; the hidden FIX is what they should find.

Answer two questions, each with yes or no:
THIN: is the statement too vague or short to know what to change, without seeing the fix?
LEAKS_FIX: does the statement give the fix away (its code, or exactly what to change)?

PROBLEM STATEMENT:
{statement}

FIX (hidden from the engineer):
{patch}

Answer in exactly this form:
THIN: yes|no
LEAKS_FIX: yes|no
WHY: one sentence"""

_ANSWER = re.compile(r"^\W*(THIN|LEAKS[_ ]FIX)\W*:\W*(yes|no)\b", re.IGNORECASE | re.MULTILINE)


def judge_statement(
    task: Task, judge: Judge, verdict: QualityVerdict | None = None, most: int = 4000
) -> QualityVerdict:
    """`verdict` (default: the heuristics') with the judge's flags added and its answer kept.

    An answer that says neither yes nor no to a question adds nothing for it, and says so in the notes.
    """
    verdict = (verdict or assess(task)).model_copy(deep=True)
    prompt = JUDGE_PROMPT.format(statement=task.problem_statement.strip()[:most], patch=task.patch[:most])
    answer = judge.complete(prompt)
    verdict.judge, verdict.judge_answer = judge.name, answer
    said = {m.group(1).upper().replace(" ", "_"): m.group(2).lower() for m in _ANSWER.finditer(answer)}
    for question, flag in (("THIN", THIN), ("LEAKS_FIX", LEAKS_FIX)):
        if question not in said:
            verdict.notes.append(f"judge {judge.name}: no yes/no for {question}")
        elif said[question] == "yes" and flag not in verdict.flags:
            verdict.flags.append(flag)
            verdict.notes.append(f"judge {judge.name}: {flag}")
    verdict.flags = [f for f in FLAGS if f in verdict.flags]
    return verdict
