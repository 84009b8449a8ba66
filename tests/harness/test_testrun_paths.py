"""Which paths a diff touches, and which exist after it (renames and deletions)."""

from swefarm.harness.testrun import diff_paths, files_after

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


def test_diff_paths_names_old_and_new_paths():
    assert diff_paths(DIFF) == ["x.py", "y.py", "gone.py", "new.py"]


def test_files_after_drops_deleted_files_and_old_names():
    assert files_after(DIFF) == ["y.py", "new.py"]
