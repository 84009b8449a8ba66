"""Text into bytes for the sandbox: any str is accepted, none raises.

Model output can hold lone surrogates (a JSON escape of half a character pair,
"\\ud800"), which no encoding carries. The rule here is the command server's
(sandbox/agent.py `to_bytes`): surrogate escapes (U+DC80..U+DCFF, what Python
makes of undecodable bytes) become those bytes again; any other lone surrogate
becomes U+FFFD.
"""

from __future__ import annotations


def to_utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        clean = "".join("\ufffd" if _lone(ch) else ch for ch in text)
        return clean.encode("utf-8", "surrogateescape")


def _lone(ch: str) -> bool:
    return "\ud800" <= ch <= "\udfff" and not "\udc80" <= ch <= "\udcff"


def has_lone_surrogate(text: str) -> bool:
    """Whether `text` holds a surrogate code point, which is not a character on its own."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)
