"""The real check (`swefarm bench gold`, `make check-real`): a SWE-bench-format file whose instance is
built from a mirror and graded on the dataset's own lists, gold resolved and empty not; and a mirror
that lacks file contents (a snapshot without its large files) named as such."""

from __future__ import annotations

import json
import subprocess

import pytest
from fixture_projects import make_project
from swefarm.harness.gold_check import check_gold
from swefarm.harness.repos import RepoError, export_tree, missing_files
from swefarm.tasks.store import TaskStore

WHEN = "2024-02-01T12:00:00Z"


def test_a_mirror_without_some_file_contents_is_named_with_the_files(tmp_path):
    repo, commits = make_project(tmp_path, "partial", {"data/big.bin": "x" * 1000, "setup.py": ""}, WHEN)
    blob = subprocess.run(["git", "rev-parse", f"{commits['base']}:data/big.bin"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()  # as a snapshot that left it out
    assert missing_files(repo, commits["base"]) == ["data/big.bin"]
    with pytest.raises(RepoError, match=r"lacks the contents of 1 file\(s\).*data/big\.bin.*full clone"):
        export_tree(repo, commits["base"], tmp_path / "out")


@pytest.mark.docker
@pytest.mark.slow
def test_gold_resolves_on_the_datasets_lists_and_empty_does_not(docker_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path / "home"))
    files = {"setup.py": "from setuptools import setup\nsetup(name='widget', py_modules=['widget'])\n",
             "pytest.ini": "[pytest]\n"}  # fmt: skip
    _, commits = make_project(tmp_path / "mirrors", "fixture__gold", files, WHEN)
    record = {"repo": "fixture/gold", "instance_id": "fixture__gold-1", "base_commit": commits["base"],
              "patch": commits["patch"], "test_patch": commits["test_patch"], "problem_statement": "add subtracts",
              "created_at": WHEN, "version": "1.4", "environment_setup_commit": commits["base"],
              "FAIL_TO_PASS": json.dumps(["tests/test_fix.py::test_add"]), "PASS_TO_PASS": "[]"}  # fmt: skip
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(record) + "\n")
    store = TaskStore(tmp_path / "home" / "tasks.db")
    report = check_gold(data, store, tmp_path / "mirrors", client=docker_client, log=lambda *a: None)
    totals = report["totals"]
    assert (totals["instances"], totals["built"], totals["gold_resolved"], totals["empty_resolved"]) == (1, 1, 1, 0)
    result = report["instances"][0]
    assert result["fail_to_pass"] == "1/1" and result["path"] == "inferred", result
    task = store.get("fixture__gold-1")
    assert task.extra["gold_check"]["gold_resolved"] is True  # kept with the task: a second run resumes
    again = check_gold(data, store, tmp_path / "mirrors", client=docker_client, log=lambda *a: None)
    assert again["totals"] == totals and again["instances"][0]["seconds"] == result["seconds"]
