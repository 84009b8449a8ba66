"""Sample tasks for the task tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

from swefarm.tasks.models import Task

PATCH = """diff --git a/src/calc.py b/src/calc.py
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""

TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
new file mode 100644
--- /dev/null
+++ b/tests/test_calc.py
@@ -0,0 +1,2 @@
+def test_add():
+    assert add(2, 3) == 5
"""


def make_task(n: int = 1, **overrides) -> Task:
    """A small valid task, `demo__calc-<n>`, with any field overridden."""
    fields = {
        "instance_id": f"demo__calc-{n}",
        "repo": "demo/calc",
        "base_commit": "a" * 40,
        "patch": PATCH,
        "test_patch": TEST_PATCH,
        "problem_statement": "add() subtracts",
        "created_at": f"2023-01-{(n % 28) + 1:02d}T10:00:00Z",
        "version": "1.0",
        "FAIL_TO_PASS": ["tests/test_calc.py::test_add"],
        "PASS_TO_PASS": [],
    }
    return Task.model_validate({**fields, **overrides})
