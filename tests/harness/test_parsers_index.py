"""TestIndex answers exactly what `lookup` answers, for every parser and spelling, without a linear scan."""

from __future__ import annotations

import pytest
from swefarm.harness.parsers import TestIndex, lookup
from swefarm.harness.results import TestStatus

P, F = TestStatus.PASSED, TestStatus.FAILED
CASES = {
    "pytest": (
        {"t.py::a[x y]": P, "t.py::a[x z]": F, "t.py::b": P, "u.py::c": F},
        ["t.py::a[x y]", "t.py::a[x", "t.py::b", "t.py::nope", "u.py::c", "t.py::a[q"],
    ),
    "unittest": (
        {"test_a (p.T.test_a)": P, "test_b (p.T)": F, "Docstring line.": P},
        ["test_a (p.T)", "test_a (p.T.test_a)", "p.T.test_b", "test_b (p.T.test_b)", "Docstring line.", "x (p.T)"],
    ),
    "django": (
        {"test_a (app.tests.T)": F, "test_a (app.tests.T.test_a)": P},
        ["test_a (app.tests.T)", "app.tests.T.test_a", "test_z (app.tests.T)"],
    ),
    "sympy": (
        {"test_a": P, "sympy/x/tests/test_b.py": F},
        ["test_a", "sympy/x/tests/test_y.py::test_a", "sympy/x/tests/test_y.py:test_a", "sympy/x/tests/test_b.py"],
    ),
}


@pytest.mark.parametrize("parser", list(CASES))
def test_the_index_finds_what_lookup_finds(parser):
    statuses, queries = CASES[parser]
    index = TestIndex(parser, statuses)
    for query in queries:
        assert index.find(query) == lookup(parser, statuses, query), query
