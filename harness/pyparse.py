"""`ast.parse` that threads may call side by side.

CPython before 3.11.8 and 3.12.2 keeps the depth counter of the AST's conversion to Python objects
in the interpreter, shared by every thread: two parses at once can fail with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905). The miner validates tasks in a
thread pool, and each validation parses test files, so CI on Python 3.11.7 failed so. Every parse
in swefarm's own code goes through one lock (a parse takes milliseconds), and one that fails so all
the same (a parse outside swefarm, pytest's assertion rewriting, ran beside it) is tried again.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str | bytes) -> ast.Module:
    """`ast.parse(source)`; raises SyntaxError or ValueError as it does."""
    with _LOCK:
        try:
            return ast.parse(source)
        except SystemError:  # the race above, with a parser that does not take this lock
            return ast.parse(source)
