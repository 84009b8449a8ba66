"""The env's spaces: free text in, free text out."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces


class AnyText(spaces.Text):
    """Text of any characters up to `max_length`.

    Gymnasium's Text only admits its charset; tool output and model text hold
    any Unicode. `sample()` still draws from the ASCII alphanumerics, which
    makes a (malformed) action the env must answer gracefully.
    """

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"AnyText({self.min_length}, {self.max_length})"
