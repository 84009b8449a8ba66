"""Linking pull requests to the issues they close, following GitHub's closing keywords.

GitHub links a pull request to an issue when its title, body or a commit message says
`<keyword> <reference>`: one of nine keywords (close, closes, closed, fix, fixes, fixed,
resolve, resolves, resolved, any case), an optional colon, whitespace, and one reference:
`#N`, `owner/repo#N` or an issue URL. Only the reference right after the keyword counts
("closes #1, #2" closes #1 only), and text inside HTML comments (where pull request
templates put their hints) is not rendered, so it never links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)

_CLOSING = re.compile(
    r"""
    (?<![\w-])                                   # a whole word: not "unfixed", "prefix", "re-fixes"
    (?P<keyword>close[sd]?|fix(?:e[sd])?|resolve[sd]?)
    :?\s+
    (?:
        https?://[^\s/]+/(?P<url_repo>[\w.-]+/[\w.-]+)/issues/(?P<url_number>\d+)
      | (?:(?P<repo>[\w.-]+/[\w.-]+))?\#(?P<number>\d+)
    )
    (?!\w)                                       # the reference ends at a word boundary: not "#12abc"
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class IssueRef:
    """One closing reference: `repo` is "owner/name" as written, None for a bare `#N`."""

    repo: str | None
    number: int
    keyword: str


def strip_html_comments(text: str) -> str:
    """`text` without its `<!-- ... -->` comments; an unterminated `<!--` runs to the end."""
    return _COMMENT.sub("", text)


def closing_refs(text: str) -> list[IssueRef]:
    """Every closing reference in `text`, in order of appearance, without repeats."""
    refs: list[IssueRef] = []
    seen: set[tuple[str | None, int]] = set()
    for m in _CLOSING.finditer(strip_html_comments(text)):
        repo = m["url_repo"] or m["repo"]
        number = int(m["url_number"] or m["number"])
        key = (repo.lower() if repo else None, number)
        if key not in seen:
            seen.add(key)
            refs.append(IssueRef(repo=repo, number=number, keyword=m["keyword"].lower()))
    return refs


def linked_issue_numbers(texts: Iterable[str], repo: str) -> list[int]:
    """Sorted issue numbers of `repo` ("owner/name") that any of `texts` closes.

    Bare `#N` references count for `repo`; `owner/name#N` and URLs only when they name `repo`
    (compared case-insensitively).
    """
    numbers = set()
    for text in texts:
        for ref in closing_refs(text or ""):
            if ref.repo is None or ref.repo.lower() == repo.lower():
                numbers.add(ref.number)
    return sorted(numbers)
