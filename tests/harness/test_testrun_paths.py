"""Which paths exist after a task's own (trusted) patch: renames and deletions. An agent's diff is never read
as text: tests/harness/test_grade_units.py shows its paths come from git's trees."""

from swefarm.harness.testrun import files_after, patch_paths

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


def test_patch_paths_reads_every_name_as_git_writes_it():
    quoted = (
        'diff --git "a/tests/t\\303\\251st.py" "b/tests/t\\303\\251st.py"\nnew file mode 100644\n--- /dev/null\n'
        '+++ "b/tests/t\\303\\251st.py"\n@@ -0,0 +1 @@\n+x\n'
    )
    assert patch_paths(DIFF) == ["x.py", "y.py", "gone.py", "new.py"]
    assert patch_paths(quoted) == ["tests/t\u00e9st.py"]
    assert patch_paths("--- a/p.py\t2024-01-01\n+++ b/p.py\t2024-01-01\n@@ -1 +1 @@\n-a\n+b\n") == ["p.py"]
