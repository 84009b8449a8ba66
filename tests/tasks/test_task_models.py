"""The Task schema: SWE-bench's spellings in, the same spellings out, nothing lost on the way."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from swefarm.tasks.models import SWEBENCH_FIELDS, Environment, Provenance, Task, TaskStatus, ValidationRun, diff_paths
from task_samples import make_task


def test_test_lists_accept_json_strings_and_real_lists():
    as_strings = make_task(FAIL_TO_PASS='["a::x", "b::y"]', PASS_TO_PASS="[]")
    as_lists = make_task(FAIL_TO_PASS=["a::x", "b::y"], PASS_TO_PASS=[])
    assert as_strings == as_lists
    assert as_strings.FAIL_TO_PASS == ["a::x", "b::y"]
    assert make_task(PASS_TO_PASS=None).PASS_TO_PASS == []


def test_a_test_list_that_is_not_json_is_refused():
    with pytest.raises(ValidationError, match="FAIL_TO_PASS"):
        make_task(FAIL_TO_PASS="[a, b")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2023-04-28T15:38:20Z", datetime(2023, 4, 28, 15, 38, 20, tzinfo=UTC)),
        ("2023-04-28 15:38:20", datetime(2023, 4, 28, 15, 38, 20, tzinfo=UTC)),
        ("2023-04-28T17:38:20+02:00", datetime(2023, 4, 28, 15, 38, 20, tzinfo=UTC)),
    ],
)
def test_created_at_is_parsed_into_utc(text, expected):
    created = make_task(created_at=text).created_at
    assert created == expected and created.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("raw, expected", [(0.2, "0.2"), ("0.2", "0.2"), (3, "3"), (None, "")])
def test_version_is_normalised_to_text(raw, expected):
    assert make_task(version=raw).version == expected


def test_missing_hints_become_empty_text():
    assert make_task(hints_text=None).hints_text == ""


def test_full_record_round_trips_through_json():
    task = make_task(
        environment=Environment(
            python="3.11", install=["pip install -e ."], packages=["pytest<8"], test_command="pytest"
        ),
        provenance=Provenance(
            source="mined",
            pr_number=7,
            issue_numbers=[3],
            license="MIT",
            validation_runs=[
                ValidationRun(at=datetime(2024, 1, 1, tzinfo=UTC), label="gold", outcomes={"t": "passed"})
            ],
            flaky_tests=["t2"],
        ),
        status=TaskStatus.INVALID,
        status_reason="gold patch fails",
    )
    assert Task.model_validate(task.model_dump(mode="json")) == task
    assert Task.model_validate_json(task.model_dump_json()) == task


def test_unknown_source_fields_are_kept_in_extra():
    task = make_task(difficulty="15 min - 1 hour")
    assert task.extra == {"difficulty": "15 min - 1 hour"}
    assert Task.model_validate(task.model_dump(mode="json")) == task


def test_to_swebench_uses_its_field_order_and_spellings():
    task = make_task(FAIL_TO_PASS=["a", "b"])
    record = task.to_swebench()
    assert tuple(record) == SWEBENCH_FIELDS
    assert record["FAIL_TO_PASS"] == '["a", "b"]' and record["PASS_TO_PASS"] == "[]"
    assert record["created_at"] == "2023-01-02T10:00:00Z"
    assert record["environment_setup_commit"] == task.base_commit  # defaulted when the source had none
    assert Task.model_validate(record).FAIL_TO_PASS == ["a", "b"]
    json.dumps(record)


def test_test_files_come_from_the_test_patch_headers():
    assert make_task().test_files() == ["tests/test_calc.py"]


def test_diff_paths_handles_deletions_renames_and_lookalike_hunk_lines():
    diff = (
        "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1,2 @@\n x\n+++ not a header\n"
        "diff --git a/x.txt b/y.txt\nsimilarity index 100%\nrename from x.txt\nrename to y.txt\n"
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -9 +9 @@\n-y\n+z\n"
    )
    assert diff_paths(diff) == ["old.py", "a.py", "y.txt"]
    assert diff_paths("--- a/p.py\n+++ b/p.py\n@@ -1 +1 @@\n-a\n+b\n") == ["p.py"]
    assert diff_paths("") == []


def test_language_defaults_to_python_and_old_task_files_still_load():
    old = make_task().model_dump(mode="json")
    del old["language"]  # a file written before the field existed
    assert Task.model_validate(old).language == "python"
    assert make_task(language=None).language == "python"


@pytest.mark.parametrize("raw", ["javascript", "JavaScript", "js", "TypeScript", "ts"])
def test_javascript_and_typescript_are_one_language(raw):
    task = make_task(language=raw)
    assert task.language == "javascript"
    assert Task.model_validate_json(task.model_dump_json()).language == "javascript"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValidationError, match="unknown language 'cobol'"):
        make_task(language="cobol")


def test_the_language_is_public():
    from swefarm.tasks.public import agent_view, public_view

    task = make_task(language="js")
    assert public_view(task)["language"] == agent_view(task)["language"] == "javascript"
