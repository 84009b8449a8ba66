"""A SWE-bench-format sample file made in the tests: 23 instances over six repositories, in SWE-bench's exact layout.

The records have the shape of SWE-bench Lite's dev split (field order, test lists as JSON strings, `...Z`
timestamps, unicode escaped the way `json.dumps` writes it); their content is invented, so the repository's tests need
nothing beside the clone. Real data is checked by `make check-real`, which takes the real file as an argument.
"""

from __future__ import annotations

import json
from pathlib import Path

KNOWN = "sqlfluff__sqlfluff-1625"

#: (instance id, created_at): six repositories; three instances fall in 2023-01-01..2023-05-01.
INSTANCES = (
    ("sqlfluff__sqlfluff-1517", "2021-10-04T16:47:41Z"),
    ("sqlfluff__sqlfluff-1625", "2021-10-13T11:35:29Z"),
    ("sqlfluff__sqlfluff-1733", "2021-11-05T18:17:50Z"),
    ("sqlfluff__sqlfluff-1763", "2021-11-21T12:41:58Z"),
    ("sqlfluff__sqlfluff-2419", "2022-01-17T19:28:47Z"),
    ("pydicom__pydicom-901", "2019-07-27T00:01:40Z"),
    ("pydicom__pydicom-1139", "2020-07-08T04:06:23Z"),
    ("pydicom__pydicom-1256", "2020-11-26T18:43:41Z"),
    ("pydicom__pydicom-1413", "2021-06-16T09:47:08Z"),
    ("pydicom__pydicom-1694", "2022-09-24T12:05:58Z"),
    ("pylint-dev__astroid-1196", "2021-10-06T11:25:11Z"),
    ("pylint-dev__astroid-1268", "2021-11-21T16:15:23Z"),
    ("pylint-dev__astroid-1333", "2022-01-10T21:55:40Z"),
    ("pylint-dev__astroid-1866", "2022-11-04T05:05:56Z"),
    ("pylint-dev__astroid-1978", "2023-01-28T06:14:15Z"),
    ("pvlib__pvlib-python-1072", "2020-10-11T13:44:28Z"),
    ("pvlib__pvlib-python-1154", "2021-01-31T11:51:06Z"),
    ("pvlib__pvlib-python-1606", "2022-12-02T17:33:37Z"),
    ("pvlib__pvlib-python-1707", "2023-03-31T21:41:41Z"),
    ("pvlib__pvlib-python-1854", "2023-09-08T20:59:28Z"),
    ("marshmallow-code__marshmallow-1343", "2019-08-21T15:45:13Z"),
    ("marshmallow-code__marshmallow-1359", "2019-08-28T17:42:01Z"),
    ("pyvista__pyvista-4315", "2023-04-20T19:34:19Z"),
)


def _repo(instance_id: str) -> str:
    owner, rest = instance_id.split("__", 1)
    return f"{owner}/{rest.rsplit('-', 1)[0]}"


def _hex(seed: str) -> str:
    import hashlib

    return hashlib.sha1(seed.encode()).hexdigest()


def record(instance_id: str, created_at: str) -> dict:
    """One instance, its fields in SWE-bench's order."""
    number = int(instance_id.rsplit("-", 1)[1])
    module = f"src/{_repo(instance_id).split('/')[1].replace('-', '_')}/core.py"
    test_file = f"tests/test_core_{number}.py"
    fail = [f"{test_file}::test_fixed_{number}"]
    passing = [f"{test_file}::test_kept_{i}" for i in range(number % 7 + 1)]
    statement = f"core() mishandles input {number} \u2014 see the traceback below\n\n```\nValueError: {number}\n```\n"
    if instance_id == KNOWN:
        module, test_file = "src/sqlfluff/rules/L031.py", "test/cli/commands_test.py"
        fail = ["test/cli/commands_test.py::test__cli__command_directed"]
        passing = ["test/cli/commands_test.py::test__cli__command_dialect"]
        passing += [f"test/cli/commands_test.py::test__cli__c{i}" for i in range(63)]
        statement = 'TSQL - L031 incorrectly triggers "Avoid using aliases in join condition" when no join present\n'
    patch = (
        f"diff --git a/{module} b/{module}\n--- a/{module}\n+++ b/{module}\n"
        f"@@ -1,2 +1,2 @@\n def core(x):\n-    return x - {number}\n+    return x + {number}\n"
    )
    test_patch = (
        f"diff --git a/{test_file} b/{test_file}\n--- a/{test_file}\n+++ b/{test_file}\n"
        f"@@ -1,2 +1,2 @@\n def test_fixed_{number}():\n-    assert core(0) == -{number}\n"
        f"+    assert core(0) == {number}\n"
    )
    base = "14e1a23a3166b9a645a16de96f694c77a5d4abb7" if instance_id == KNOWN else _hex(instance_id)
    setup = "67023b85c41d23d6c6d69812a41b207c4f8a9331" if instance_id == KNOWN else _hex(instance_id + "/setup")
    version = "0.6" if instance_id == KNOWN else f"{number % 3}.{number % 10}"
    return {
        "repo": _repo(instance_id),
        "instance_id": instance_id,
        "base_commit": base,
        "patch": patch,
        "test_patch": test_patch,
        "problem_statement": statement,
        "hints_text": "" if number % 2 else f"Maybe look at core() ({number}).",
        "created_at": created_at,
        "version": version,
        "FAIL_TO_PASS": json.dumps(fail),
        "PASS_TO_PASS": json.dumps(passing),
        "environment_setup_commit": setup,
    }


def write_sample(path: Path) -> Path:
    """Write the 23 instances as JSONL (one `json.dumps` line each, as the SWE-bench files are written)."""
    path.write_text("".join(json.dumps(record(i, at)) + "\n" for i, at in INSTANCES), encoding="utf-8")
    return path
