"""pytest node ids in the order pytest would collect them from their files, not in a list's order.

pytest runs explicit node ids in the order they are given. A dataset's lists (FAIL_TO_PASS, then
PASS_TO_PASS) are not that order, and a test that passes when its file runs can fail when another
test runs before it (astroid's symlink test after the test that loads a package without
`__init__`). Datasets like SWE-bench record their lists from whole-file runs, so a grader that
checks those lists runs the ids in file order: files as the test patch lists them (then by first
appearance), within a file by definition (read with `ast`, never imported), methods of a
`unittest.TestCase` by name as unittest's loader sorts them, parametrised ids in their given order.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

from swefarm.harness import pyparse

_UNKNOWN = 10**9


def collection_order(ids: list[str], read: Callable[[str], str | None], files: Sequence[str] = ()) -> list[str]:
    """`ids` reordered like pytest's collection; `read(path)` gives a test file's source (None if unreadable)."""
    order_of_files = {f: i for i, f in enumerate(dict.fromkeys([*files, *(i.split("::", 1)[0] for i in ids)]))}
    positions: dict[str, dict[tuple[str, ...], int]] = {}
    for path in order_of_files:
        source = read(path) if path.endswith(".py") else None
        positions[path] = _positions(source) if source else {}

    def key(item: tuple[int, str]) -> tuple[int, int, int]:
        index, node_id = item
        path, _, rest = node_id.partition("::")
        names = tuple(part.split("[", 1)[0] for part in rest.split("::")) if rest else ()
        ranks = positions.get(path, {})
        rank = ranks.get(names, ranks.get(names[:1], _UNKNOWN))  # an inherited method: at its class
        return order_of_files.get(path, _UNKNOWN), rank, index

    return [node_id for _, node_id in sorted(enumerate(ids), key=key)]


def _positions(source: str) -> dict[tuple[str, ...], int]:
    """(name,) or (class, method) -> its rank in collection order."""
    try:
        tree = pyparse.parse(source)
    except (SyntaxError, ValueError):
        return {}
    ranks: dict[tuple[str, ...], int] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            ranks.setdefault((node.name,), len(ranks))
        elif isinstance(node, ast.ClassDef):
            ranks.setdefault((node.name,), len(ranks))
            methods = [n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            if _is_testcase(node):
                methods = sorted(methods)  # unittest's loader sorts a TestCase's methods by name
            for method in methods:
                ranks.setdefault((node.name, method), len(ranks))
    return ranks


def _is_testcase(node: ast.ClassDef) -> bool:
    for base in node.bases:
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name.endswith("TestCase") or name.endswith("Test") and name != "Test":
            return True
    return False
