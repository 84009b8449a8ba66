"""Importers: a SWE-bench Lite-shaped file, SWE-rebench's install recipes, bad lines, round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from swebench_sample import KNOWN
from swefarm.tasks.importers import ReadReport, TaskFormatError, detect_format, parse_record, read_tasks
from swefarm.tasks.models import SWEBENCH_FIELDS, TaskStatus
from swefarm.tasks.store import TaskStore
from task_samples import PATCH, TEST_PATCH, make_task


@pytest.fixture
def store(tmp_path) -> TaskStore:
    return TaskStore(tmp_path / "tasks.db")


def rebench_record(**overrides) -> dict:
    """A SWE-rebench-style record: lists as real lists, a space-separated date and an install recipe."""
    record = {
        "instance_id": "acme__widgets-42",
        "repo": "acme/widgets",
        "base_commit": "b" * 40,
        "patch": PATCH,
        "test_patch": TEST_PATCH,
        "problem_statement": "widgets break",
        "hints_text": "",
        "created_at": "2024-12-10 13:49:53",
        "version": 0.2,
        "FAIL_TO_PASS": ["tests/test_calc.py::test_add"],
        "PASS_TO_PASS": ["tests/test_calc.py::test_other"],
        "environment_setup_commit": "c" * 40,
        "meta": {"num_modified_files": 1, "is_lite": False},
        "install_config": {
            "python": 3.9,
            "install": "pip install -e .[test]",
            "pip_packages": ["pytest==7.4.0", "numpy<2"],
            "pre_install": ["apt-get update", "apt-get install -y gcc"],
            "reqs_path": ["requirements/test.txt"],
            "env_yml_path": None,
            "packages": "requirements.txt",
            "test_cmd": "pytest --no-header -rA --tb=line --color=no -p no:cacheprovider -W ignore::DeprecationWarning",
            "log_parser": "parse_log_pytest",
            "env_vars": {"LANG": "C.UTF-8"},
            "no_use_env": None,
        },
        "requirements": "numpy==1.26.4\npytest==7.4.0\n",
        "environment": "name: testbed\ndependencies:\n  - python=3.9\n",
        "license_name": "MIT",
    }
    return {**record, **overrides}


def test_lite_dev_file_imports_with_known_fields(store, lite_dev):
    report = store.import_jsonl(lite_dev, source="swe-bench-lite")
    assert (report.added, report.updated, report.unchanged, report.skipped) == (23, 0, 0, 0)
    task = store.get(KNOWN)
    assert task.repo == "sqlfluff/sqlfluff"
    assert task.base_commit == "14e1a23a3166b9a645a16de96f694c77a5d4abb7"
    assert task.environment_setup_commit == "67023b85c41d23d6c6d69812a41b207c4f8a9331"
    assert task.version == "0.6"
    assert task.created_at == datetime(2021, 10, 13, 11, 35, 29, tzinfo=UTC)
    assert task.FAIL_TO_PASS == ["test/cli/commands_test.py::test__cli__command_directed"]
    assert (
        len(task.PASS_TO_PASS) == 64 and task.PASS_TO_PASS[0] == "test/cli/commands_test.py::test__cli__command_dialect"
    )
    assert task.test_files() == task.environment.test_files == ["test/cli/commands_test.py"]
    assert task.provenance.source == "swe-bench-lite" and task.provenance.pr_number == 1625
    assert task.provenance.pr_url == "https://github.com/sqlfluff/sqlfluff/pull/1625"
    assert task.status is TaskStatus.IMPORTED
    assert store.count(repo="pydicom/pydicom") == 5


def test_importing_again_adds_nothing_and_keeps_state(store, lite_dev):
    store.import_jsonl(lite_dev)
    built = store.get(KNOWN).model_copy(update={"status": TaskStatus.VALID})
    store.put(built)
    report = store.import_jsonl(lite_dev)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 23)
    assert store.count() == 23 and store.get(KNOWN).status is TaskStatus.VALID


def test_reimporting_changed_content_updates_the_task(store, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(make_task(1).to_swebench()) + "\n")
    store.import_jsonl(path)
    store.put(store.get("demo__calc-1").model_copy(update={"status": TaskStatus.VALID}))
    path.write_text(json.dumps({**make_task(1).to_swebench(), "problem_statement": "new text"}) + "\n")
    report = store.import_jsonl(path)
    assert (report.added, report.updated) == (0, 1)
    task = store.get("demo__calc-1")
    assert task.problem_statement == "new text" and task.status is TaskStatus.IMPORTED  # must be validated again


def test_swebench_export_equals_the_input_lines(store, lite_dev, tmp_path):
    store.import_jsonl(lite_dev)
    out = tmp_path / "out.jsonl"
    assert store.export_jsonl(out, fmt="swebench") == 23
    originals = {json.loads(line)["instance_id"]: line.rstrip("\n") for line in lite_dev.open()}
    exported = [line.rstrip("\n") for line in out.open()]
    assert len(exported) == 23
    for line in exported:
        record = json.loads(line)
        original = json.loads(originals[record["instance_id"]])
        for name in SWEBENCH_FIELDS:
            assert record[name] == original[name], (record["instance_id"], name)
        assert line == originals[record["instance_id"]]  # byte for byte, field order included


def test_swefarm_export_imports_back_unchanged(store, lite_dev, tmp_path):
    store.import_jsonl(lite_dev, source="swe-bench-lite")
    store.put(store.get(KNOWN).model_copy(update={"status": TaskStatus.INVALID, "status_reason": "flaky"}))
    out = tmp_path / "full.jsonl"
    assert store.export_jsonl(out, repo="sqlfluff/sqlfluff") == 5
    other = TaskStore(tmp_path / "other.db")
    assert other.import_jsonl(out).added == 5
    assert other.list() == store.list(repo="sqlfluff/sqlfluff")
    assert other.get(KNOWN).status_reason == "flaky"


def test_json_list_files_import_too(store, lite_dev, tmp_path):
    path = tmp_path / "lite.json"
    path.write_text(json.dumps([json.loads(line) for line in lite_dev.open()], indent=2))
    assert store.import_jsonl(path).added == 23


def test_swerebench_record_maps_its_install_config(tmp_path):
    path = tmp_path / "rebench.jsonl"
    path.write_text(json.dumps(rebench_record()) + "\n")
    [task] = list(read_tasks(path))
    env = task.environment
    assert env.python == "3.9" and env.install == ["pip install -e .[test]"]
    assert env.packages == ["pytest==7.4.0", "numpy<2"]
    assert env.pre_install == ["apt-get update", "apt-get install -y gcc"]
    assert env.requirements_files == ["requirements/test.txt"] and env.conda_env_files == []
    assert env.test_command.startswith("pytest --no-header") and env.log_parser == "parse_log_pytest"
    assert env.env_vars == {"LANG": "C.UTF-8"}
    assert env.raw == rebench_record()["install_config"]
    assert task.provenance.source == "swe-rebench" and task.provenance.license == "MIT"
    assert task.version == "0.2" and task.created_at == datetime(2024, 12, 10, 13, 49, 53, tzinfo=UTC)
    assert task.extra["meta"] == {"num_modified_files": 1, "is_lite": False}
    assert task.extra["requirements"].startswith("numpy==") and "testbed" in task.extra["environment"]
    assert task.to_swebench()["PASS_TO_PASS"] == '["tests/test_calc.py::test_other"]'


def test_format_is_detected_per_record():
    assert detect_format(rebench_record()) == "swerebench"
    assert detect_format(make_task().to_swebench()) == "swebench"
    assert detect_format(make_task().model_dump(mode="json")) == "swefarm"
    assert parse_record(make_task().to_swebench(), "swegym").provenance.source == "swe-gym"
    with pytest.raises(ValueError, match="unknown task format"):
        parse_record(make_task().to_swebench(), "nope")


def test_bad_lines_name_the_line_and_the_field(tmp_path):
    good = json.dumps(make_task(1).to_swebench())
    missing = make_task(2).to_swebench()
    del missing["base_commit"]
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n{json.dumps(missing)}\n\n{{not json\n{good}\n")
    with pytest.raises(TaskFormatError, match=r"line 2: missing field 'base_commit'"):
        list(read_tasks(path))
    report = ReadReport()
    tasks = list(read_tasks(path, skip_bad=True, report=report))
    assert len(tasks) == 2 and (report.read, report.skipped) == (2, 2)
    assert report.errors[0] == "line 2: missing field 'base_commit'"
    assert report.errors[1].startswith("line 4: not valid JSON")


def test_store_import_skips_bad_lines_when_asked(store, tmp_path):
    path = tmp_path / "bad.jsonl"
    good = [json.dumps(make_task(n).to_swebench()) for n in range(600)]  # more than one write batch
    path.write_text("\n".join([*good, json.dumps(rebench_record(install_config=[1]))]) + "\n")
    with pytest.raises(TaskFormatError, match="line 601: field 'install_config'"):
        store.import_jsonl(path)
    assert store.count() == 0  # nothing of a failed import was written
    report = store.import_jsonl(path, skip_bad=True)
    assert (report.added, report.skipped) == (600, 1)
