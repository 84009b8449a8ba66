"""Comparing our FAIL_TO_PASS / PASS_TO_PASS with an imported dataset's."""

from swefarm.harness.dropped import disagreement
from swefarm.harness.validate import ValidationReport
from swefarm.tasks.models import Task


def test_ids_the_dataset_cut_at_a_space_are_matched_and_listed_apart():
    task = Task(
        instance_id="a__b-1",
        repo="a/b",
        base_commit="x",
        patch="",
        test_patch="",
        problem_statement="",
        FAIL_TO_PASS=["t.py::f[a", "t.py::g"],
        PASS_TO_PASS=["t.py::h"],
    )
    ours = ValidationReport(
        instance_id="a__b-1", fail_to_pass=["t.py::f[a b]", "t.py::f[a c]"], pass_to_pass=["t.py::h", "t.py::i"]
    )
    assert disagreement(task, ours) == {
        "FAIL_TO_PASS only in dataset": ["t.py::g"],
        "FAIL_TO_PASS cut at a space in dataset": ["t.py::f[a"],
        "PASS_TO_PASS only in ours": ["t.py::i"],
    }


def test_no_disagreement_when_the_lists_match():
    task = Task(
        instance_id="a__b-1",
        repo="a/b",
        base_commit="x",
        patch="",
        test_patch="",
        problem_statement="",
        FAIL_TO_PASS=["t.py::f"],
        PASS_TO_PASS=[],
    )
    assert disagreement(task, ValidationReport(instance_id="a__b-1", fail_to_pass=["t.py::f"])) == {}
