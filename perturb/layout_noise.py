"""The text the layout family lays out: fixed, generic, and about no task in particular.

Notes may mislead (that is the point) but only as harmless prose: nothing here
names a real file, test or fix, and nothing is derived from a task.
"""

from __future__ import annotations

CLUTTER: list[tuple[str, str]] = [
    ("scratch.py", '# scratch: trying things out\nimport sys\n\nprint("debug", sys.argv[1:])\n'),
    ("debug_output.log", "".join(f"2023-05-31 17:{m:02d}:03 DEBUG worker {4100 + m} started\n" for m in range(12))),
    ("tmp_notes.txt", "- check the release checklist\n- ask about the CI cache\n- lunch\n"),
    ("out.json", '{"status": "ok", "items": [], "elapsed_ms": 12.5}\n'),
    ("try_fix_old.py", "# an abandoned attempt, kept for reference\n\ndef attempt():\n    return None\n"),
    (".scratch.swp", "b0VIM 8.2 (swap file of a closed editor)\n"),
    ("profile.out", "stale profiler output\n"),
]

NESTED: list[list[tuple[str, str]]] = [
    [
        ("archive/2021/old_release/misc/README.txt", "Files kept from the 2021 release. Not used by the build.\n"),
        ("archive/2021/old_release/misc/settings.json", '{"legacy": true, "threads": 4}\n'),
    ],
    [
        ("tmp/a/b/c/d/data.csv", "id,value\n1,0.5\n2,0.75\n"),
        ("tmp/a/b/c/d/run.sh", "#!/bin/sh\necho 'old helper script; does nothing useful now'\n"),
    ],
    [
        ("node_modules/.cache/left-pad/index.js", "module.exports = (s, n) => String(s).padStart(n);\n"),
        ("node_modules/.cache/left-pad/package.json", '{"name": "left-pad", "version": "1.3.0"}\n'),
    ],
    [
        ("backup/copy_of_docs/drafts/outline.md", "# Outline (draft)\n\n1. Intro\n2. Usage\n3. FAQ\n"),
        ("backup/copy_of_docs/drafts/todo.txt", "rewrite the FAQ\n"),
    ],
]

VENDOR_DIRS = ["vendor/{name}", "third_party/{name}", "external/{name}-legacy", "_vendored/{name}_old"]

NOTE_FILES = ["NOTES.md", "TODO.txt", "HACKING.txt", "notes/investigation.md"]

NOTES = [
    "# Investigation notes (old)\n\nThe problem is probably in the build scripts rather than in the library itself. "
    "Did not confirm; ran out of time.\n",
    "TODO\n- tests are flaky on some machines; re-run before believing a failure\n- clean up the build directory\n",
    "Reminder: some modules are generated at release time; check before editing by hand.\n",
    "Known issues (outdated):\n- the docs build warns about missing references\n- Windows paths are not supported in "
    "the command line tool\n",
    "Someone suggested upgrading all the dependencies to fix things like this. There is no network here, so that is "
    "not an option anyway.\n",
    "Note to self: the last refactor moved a few helpers around; some comments may still point to their old places.\n",
]
