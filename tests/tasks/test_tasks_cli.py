"""`swefarm tasks ...` through typer's runner, with $SWEFARM_HOME in a temporary directory."""

from __future__ import annotations

import json

import pytest
from swefarm.cli.tasks_cmd import app
from task_samples import make_task
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


def invoke(*args: str, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_import_twice_then_list(home, lite_dev):
    first = invoke("import", lite_dev, "--source", "swe-bench-lite")
    assert "23 added, 0 updated, 0 unchanged, 0 skipped" in first.output
    assert (home / "tasks.db").is_file()
    again = invoke("import", lite_dev)
    assert "0 added, 0 updated, 23 unchanged" in again.output
    listed = invoke("list", "--repo", "pydicom/pydicom")
    assert "5 of 5 matching tasks (23 stored)" in listed.output
    assert "pydicom__pydicom-901" in listed.output and "sqlfluff" not in listed.output


def test_list_filters_by_date_and_limit(lite_dev):
    invoke("import", lite_dev)
    listed = invoke("list", "--since", "2023-01-01", "--until", "2023-05-01", "--limit", "2")
    assert "2 of 3 matching tasks" in listed.output
    assert "pylint-dev__astroid-1978" in listed.output and "pvlib__pvlib-python-1707" in listed.output
    assert "pyvista__pyvista-4315" not in listed.output  # the newest of the three is past the limit


def test_show_a_task(lite_dev):
    invoke("import", lite_dev, "--source", "swe-bench-lite")
    shown = invoke("show", "sqlfluff__sqlfluff-1625")
    for text in ("14e1a23a3166b9a645a16de96f694c77a5d4abb7", "swe-bench-lite", "test__cli__command_directed",
                 "64 in all", "test/cli/commands_test.py", "TSQL - L031"):  # fmt: skip
        assert text in shown.output
    as_json = json.loads(invoke("show", "sqlfluff__sqlfluff-1625", "--json").output)
    assert as_json["version"] == "0.6"


def test_export_both_formats(lite_dev, tmp_path):
    invoke("import", lite_dev)
    out = tmp_path / "lite.jsonl"
    assert "5 tasks written" in invoke("export", out, "--format", "swebench", "--repo", "sqlfluff/sqlfluff").output
    records = [json.loads(line) for line in out.open()]
    assert len(records) == 5 and isinstance(records[0]["FAIL_TO_PASS"], str)
    invoke("export", out)
    assert len(out.read_text().splitlines()) == 23


def test_errors_are_clear(tmp_path):
    assert "no task 'nope'" in invoke("show", "nope", code=1).output
    assert "no such file" in invoke("import", tmp_path / "missing.jsonl", code=1).output
    assert "unknown format" in invoke("import", tmp_path / "x.jsonl", "--format", "csv", code=1).output
    assert "unknown status" in invoke("list", "--status", "great", code=1).output
    assert "not an ISO date" in invoke("list", "--since", "yesterday", code=1).output
    assert "unknown export format" in invoke("export", tmp_path / "x.jsonl", "--format", "csv", code=1).output


def test_bad_lines_stop_the_import_unless_skipped(tmp_path):
    path = tmp_path / "bad.jsonl"
    broken = make_task(2).to_swebench()
    del broken["repo"]
    path.write_text(json.dumps(make_task(1).to_swebench()) + "\n" + json.dumps(broken) + "\n")
    stopped = invoke("import", path, code=1)
    assert "line 2: missing field 'repo'" in stopped.output and "--skip-bad" in stopped.output
    skipped = invoke("import", path, "--skip-bad")
    assert "1 added, 0 updated, 0 unchanged, 1 skipped" in skipped.output
    assert "line 2: missing field 'repo'" in skipped.output


def test_the_main_command_has_the_tasks_group():
    from swefarm.cli.main import app as main_app

    result = runner.invoke(main_app, ["tasks", "--help"])
    assert result.exit_code == 0 and "import" in result.output and "export" in result.output
