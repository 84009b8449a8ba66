"""How validation ends, as codes, and why each test is left out: the rules on runs made of parsed statuses
(the same rules run on the real engine in test_validate_classes.py)."""

from __future__ import annotations

from swefarm.harness.dropped import dropped_tests
from swefarm.harness.outcomes import RETRY, DropReason, ValidationOutcome, describe
from swefarm.harness.results import TestRun, TestStatus
from swefarm.harness.validate import ValidationReport, _classify
from swefarm.tasks.models import Task

P, F, E, S, XF = TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED, TestStatus.XFAIL


def runs(parser: str = "pytest", **by_label) -> dict[str, TestRun]:
    """TestRuns from {label: (statuses, exit_code, log)}."""
    return {
        label: TestRun(statuses=statuses, exit_code=code, log_tail=log, parser=parser)
        for label, (statuses, code, log) in by_label.items()
    }


def classify(base: TestRun, *gold: TestRun) -> ValidationReport:
    report = ValidationReport(instance_id="x__y-1")
    _classify(report, base, list(gold))
    return report


def task(f2p=(), p2p=()) -> Task:
    return Task(
        instance_id="x__y-1",
        repo="x/y",
        base_commit="b",
        patch="",
        test_patch="",
        problem_statement="",
        FAIL_TO_PASS=list(f2p),
        PASS_TO_PASS=list(p2p),
    )


def test_expected_failures_are_in_neither_list_and_say_why():
    r = runs(
        base=({"t.py::fixed": F, "t.py::kept": P, "t.py::known_bug": XF, "t.py::was_xfail": XF}, 1, ""),
        gold=({"t.py::fixed": P, "t.py::kept": P, "t.py::known_bug": XF, "t.py::was_xfail": P}, 0, ""),
    )
    report = classify(r["base"], r["gold"])
    assert report.outcome == ValidationOutcome.VALID and report.valid
    assert report.fail_to_pass == ["t.py::fixed", "t.py::was_xfail"]  # XFAIL before, a real pass after: fixed
    assert report.pass_to_pass == ["t.py::kept"]
    assert report.expected_failures == ["t.py::known_bug"]
    assert dropped_tests(task(), report, r["base"], [r["gold"]]) == {"t.py::known_bug": "xfail"}


def test_gold_runs_without_results_are_no_test_results_with_the_cause():
    log = "ImportError while loading conftest '/testbed/tests/conftest.py'.\nE   KeyError: 'BREAK_LOOP'\n"
    r = runs(base=({}, 4, log), gold=({}, 4, log))
    report = classify(r["base"], r["gold"])
    assert report.outcome == ValidationOutcome.NO_TEST_RESULTS and not report.valid
    assert report.cause == "KeyError: 'BREAK_LOOP' (exit code 4)"
    assert report.reason == "the gold runs reported no test results: KeyError: 'BREAK_LOOP' (exit code 4)"


def test_modules_failing_to_import_before_and_after_mean_a_broken_environment():
    log = "ERROR tests/test_views.py\nE   django.core.exceptions.ImproperlyConfigured: Requested setting DEBUG\n"
    broken = {"tests/test_views.py": E}
    r = runs(base=(broken, 2, log), gold=(broken, 2, log), gold2=(broken, 2, log))
    report = classify(r["base"], r["gold"], r["gold2"])
    assert report.outcome == ValidationOutcome.ENVIRONMENT_BROKEN
    assert report.collection_errors == ["tests/test_views.py"]
    assert report.cause.startswith("tests/test_views.py: django.core.exceptions.ImproperlyConfigured")


def test_a_module_that_fails_only_before_the_fix_is_the_usual_fail_to_pass():
    r = runs(base=({"tests/test_new.py": E}, 2, ""), gold=({"tests/test_new.py::test_a": P}, 0, ""))
    report = classify(r["base"], r["gold"])
    assert report.outcome == ValidationOutcome.VALID and report.fail_to_pass == ["tests/test_new.py::test_a"]
    assert report.collection_errors == []


def test_a_broken_module_beside_working_fixed_tests_still_validates_and_is_listed():
    base = {"tests/test_a.py::t": F, "tests/test_b.py": E}
    gold = {"tests/test_a.py::t": P, "tests/test_b.py": E}
    r = runs(base=(base, 1, ""), gold=(gold, 1, ""))
    report = classify(r["base"], r["gold"])
    assert report.valid and report.fail_to_pass == ["tests/test_a.py::t"]
    assert report.collection_errors == ["tests/test_b.py"]
    assert "tests/test_b.py" not in report.pass_to_pass + report.fail_to_pass


def test_a_gold_run_that_timed_out_is_no_test_results_but_a_hanging_base_is_the_bug():
    killed = "tests/test_a.py::t PASSED\n[swefarm: killed after 1800s (timeout)]\n"
    r = runs(base=({}, 124, killed), gold=({"tests/test_a.py::t": P}, 0, ""), stuck=({}, 124, killed))
    hung_base = classify(r["base"], r["gold"])
    assert hung_base.outcome == ValidationOutcome.VALID
    hung_gold = classify(r["gold"], r["stuck"])
    assert hung_gold.outcome == ValidationOutcome.NO_TEST_RESULTS
    assert hung_gold.cause == "the test run timed out: killed after 1800s (timeout)"


def test_no_fail_to_pass_when_tests_ran_and_nothing_was_fixed():
    r = runs(base=({"t.py::a": P}, 0, ""), gold=({"t.py::a": P}, 0, ""))
    report = classify(r["base"], r["gold"])
    assert report.outcome == ValidationOutcome.NO_FAIL_TO_PASS and report.pass_to_pass == ["t.py::a"]


def test_every_test_a_dataset_list_holds_and_ours_do_not_is_explained():
    same = {"t.py::f": P, "t.py::already": P, "t.py::now_fixed": P, "t.py::skip": S, "t.py::fails": F}
    r = runs(
        base=({"t.py::f": F, "t.py::already": P, "t.py::now_fixed": F, "t.py::flip": P, "t.py::skip": S}, 1, ""),
        gold=({**same, "t.py::flip": P}, 1, ""),
        gold2=({**same, "t.py::flip": F}, 1, ""),
    )
    report = classify(r["base"], r["gold"], r["gold2"])
    dataset = task(
        f2p=["t.py::f", "t.py::already"],
        p2p=["t.py::now_fixed", "t.py::flip", "t.py::skip", "t.py::gone", "t.py::fails"],
    )
    assert dropped_tests(dataset, report, r["base"], [r["gold"], r["gold2"]]) == {
        "t.py::flip": DropReason.FLAKY,
        "t.py::already": DropReason.PASSES_AT_BASE,  # moved to our PASS_TO_PASS
        "t.py::now_fixed": DropReason.FAILS_AT_BASE,  # moved to our FAIL_TO_PASS
        "t.py::skip": DropReason.SKIPPED,
        "t.py::gone": DropReason.MISSING,
        "t.py::fails": DropReason.FAILED,
    }


def test_another_spelling_of_an_id_is_not_a_dropped_test():
    long = "test_a (pkg.tests.T.test_a)"
    r = runs("unittest", base=({long: F}, 1, ""), gold=({long: P}, 0, ""))
    report = classify(r["base"], r["gold"])
    assert report.fail_to_pass == [long]
    assert dropped_tests(task(f2p=["test_a (pkg.tests.T)"]), report, r["base"], [r["gold"]]) == {}


def test_dataset_tests_of_a_module_that_did_not_import_are_collection_errors():
    r = runs(
        base=({"tests/test_a.py::t": F, "tests/test_b.py": E}, 1, ""),
        gold=({"tests/test_a.py::t": P, "tests/test_b.py": E}, 1, ""),
    )
    report = classify(r["base"], r["gold"])
    dropped = dropped_tests(task(p2p=["tests/test_b.py::test_x"]), report, r["base"], [r["gold"]])
    assert dropped == {"tests/test_b.py::test_x": DropReason.COLLECTION_ERROR}


def test_every_code_has_a_description_and_only_infrastructure_is_retried():
    for code in [*ValidationOutcome, *DropReason]:
        assert describe(code) != code
    assert ValidationOutcome.INFRA_ERROR in RETRY
    assert not {ValidationOutcome.NO_TEST_RESULTS, ValidationOutcome.ENVIRONMENT_BROKEN} & RETRY
