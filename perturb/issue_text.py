"""Text transforms of an issue, for the user family: pure functions of the text and a seeded RNG.

An issue is read as sections: blocks separated by blank lines, where a fenced
code block stays whole and belongs to the block before it, and a heading
belongs to the block after it. The first section (the summary) is never
dropped; code is never misspelt.
"""

from __future__ import annotations

import random
import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s*(#{1,6}\s|\*\*[^*]+\*\*:?\s*$|[A-Z][A-Za-z ]{2,40}:\s*$)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_WORD = re.compile(r"(?<![\w./\\-])[A-Za-z]{4,}(?![\w./\\(-])")

KEYWORDS = {
    "reproduction": ("reproduc", "steps to", "to trigger", "example", "mcve", "minimal", "code sample", "snippet"),
    "expected": ("expected", "should", "instead", "desired", "actual", "what i want", "would like"),
}
HEDGES = [
    "Not sure exactly what triggers it, but something seems off here.",
    "I haven't dug into the details, sorry; it just doesn't behave the way I'd think.",
    "Could be a misunderstanding on my side, but this looks wrong.",
    "Hard to say more without digging in.",
]
PADDING = [
    "Some context: we hit this while upgrading our internal tooling last sprint; the rest of the upgrade went fine.",
    "Environment: Linux x86_64, Python 3.11, installed from source. I also tried a fresh virtualenv.",
    "This might be related to an older discussion about logging configuration, though I'm honestly not sure.",
    "Thanks for maintaining this project! We use it across several services.",
    "P.S. The documentation site was a bit slow to load today, unrelated to this.",
    "I searched the existing issues and couldn't find a duplicate.",
    "Our CI runs on a mix of macOS and Linux runners; we see the same thing on both.",
    "pip freeze (trimmed):\n```\ncertifi==2024.2.2\ncharset-normalizer==3.3.2\nidna==3.6\nurllib3==2.2.1\n```",
    "A colleague suggested it could be a caching problem on our side, but clearing caches did not change anything.",
]


def sections(text: str) -> list[str]:
    blocks: list[list[str]] = [[]]
    fenced = False
    for line in text.strip().split("\n"):
        if _FENCE.match(line):
            if not fenced and not blocks[-1] and len(blocks) > 1:
                blocks.pop()  # a code block joins the block before it, after a blank line
                blocks[-1].append("")
            fenced = not fenced
        if not line.strip() and not fenced:
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(line)
    out = ["\n".join(b) for b in blocks if b]
    merged: list[str] = []
    for block in out:  # a heading alone joins the block after it
        if merged and _HEADING.match(merged[-1]) and "\n" not in merged[-1]:
            merged[-1] += "\n\n" + block
        else:
            merged.append(block)
    return merged


def join(parts: list[str]) -> str:
    return "\n\n".join(parts)


def vague(text: str, rng: random.Random) -> str:
    """The summary, then only prose sentences with no code or numbers in them, and a hedge."""
    parts = sections(text)
    kept = [_without_code(parts[0]) or parts[0]]
    for part in parts[1:]:
        body = "\n".join(line for line in _without_code(part).split("\n") if not _HEADING.match(line))
        prose = [s.strip() for s in _SENTENCE.split(body) if s.strip() and not _specific(s)]
        if prose:
            kept.append(" ".join(prose))
    return join(kept) + "\n\n" + rng.choice(HEDGES)


def drop_section(text: str, what: str) -> str:
    """Without the section that gives the reproduction (or the expected behaviour); the summary stays."""
    parts = sections(text)
    if len(parts) < 2:
        return text
    rest = range(1, len(parts))
    by_heading = [i for i in rest if any(k in _label(parts[i]) for k in KEYWORDS[what])]
    if what == "reproduction":
        fallback = [i for i in rest if "```" in parts[i]] or sorted(rest, key=lambda i: -parts[i].count("`"))[:1]
    else:
        fallback = [i for i in rest if any(k in parts[i].lower() for k in KEYWORDS[what])] or [len(parts) - 1]
    drop = set(by_heading or fallback[:1])
    return join([p for i, p in enumerate(parts) if i not in drop])


def reorder(text: str, rng: random.Random) -> str:
    """The sections in another order (a different one whenever there are two or more)."""
    parts = sections(text)
    if len(parts) < 2:
        return text
    order = list(range(len(parts)))
    rng.shuffle(order)
    if order == sorted(order):
        order = order[1:] + order[:1]
    return join([parts[i] for i in order])


def pad(text: str, where: str, rng: random.Random) -> str:
    """With irrelevant context before, after, or around the issue."""
    extra = rng.sample(PADDING, 3 if where == "both" else rng.randint(1, 2))
    if where == "start":
        return join([*extra, text.strip()])
    if where == "end":
        return join([text.strip(), *extra])
    return join([extra[0], text.strip(), *extra[1:]])


def typos(text: str, rate: float, rng: random.Random) -> str:
    """About `rate` of the prose words misspelt; code blocks, `code spans`, paths and identifiers untouched."""
    out, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            out.append(line)
            continue
        out.append(line if fenced else _misspell_line(line, rate, rng))
    return "\n".join(out)


def _misspell_line(line: str, rate: float, rng: random.Random) -> str:
    pieces, last = [], 0
    for span in _CODE_SPAN.finditer(line):
        pieces.append(_WORD.sub(lambda m: _typo(m.group(0), rng) if rng.random() < rate else m.group(0),
                                line[last : span.start()]))  # fmt: skip
        pieces.append(span.group(0))
        last = span.end()
    tail = line[last:]
    pieces.append(_WORD.sub(lambda m: _typo(m.group(0), rng) if rng.random() < rate else m.group(0), tail))
    return "".join(pieces)


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _label(section: str) -> str:
    """What a section says it is: its heading, or the words before a colon that opens it ("Expected: ...")."""
    first = section.split("\n")[0]
    if _HEADING.match(first):
        return first.lower()
    head, colon, _ = first.partition(":")
    return head.lower() if colon and len(head) <= 40 and "`" not in head else ""


def _without_code(text: str) -> str:
    kept, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept).strip()


def _specific(sentence: str) -> bool:
    return "`" in sentence or bool(re.search(r"\d|\w\(|==|=>|->", sentence))
