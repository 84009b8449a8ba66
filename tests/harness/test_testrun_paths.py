"""Which paths exist after a task's own (trusted) patch: renames and deletions. An agent's diff is never read
as text: tests/harness/test_grade_units.py shows its paths come from git's trees."""

from swefarm.harness.testrun import files_after

DIFF = """diff --git a/x.py b/y.py
similarity index 90%
rename from x.py
rename to y.py
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-x
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1 @@
+x
"""


def test_files_after_drops_deleted_files_and_old_names():
    assert files_after(DIFF) == ["y.py", "new.py"]
