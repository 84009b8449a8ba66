"""How a validation's lists compare with the task's own (an imported dataset's): every test left out, and why.

    dropped_tests(task, report, base, gold)   # {"t.py::x": "flaky", "t.py::y": "missing", ...}
    disagreement(task, report)                # {"PASS_TO_PASS only in dataset": [...], ...}

Ids are matched under every spelling the parser knows (Python 3.11's long unittest names, sympy names
with their file, pytest ids SWE-bench cut at a space), so another spelling is never a dropped test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swefarm.harness.outcomes import DropReason
from swefarm.harness.parsers import TestIndex
from swefarm.harness.parsers.crash import collection_errors, module_of
from swefarm.harness.results import TestRun, TestStatus, counts_as_pass
from swefarm.tasks.models import Task

if TYPE_CHECKING:
    from swefarm.harness.validate import ValidationReport


def dropped_tests(task: Task, report: ValidationReport, base: TestRun | None, gold: list[TestRun]) -> dict[str, str]:
    """Why each test is in neither of our lists: the ones our rules excluded, and every test of the task's
    own (imported) lists that ours do not hold (under any spelling of its id)."""
    out = {t: str(DropReason.FLAKY) for t in report.flaky}
    out |= {t: str(DropReason.ORDER_DEPENDENT) for t in report.order_dependent}
    out |= {t: str(DropReason.XFAIL) for t in report.expected_failures}
    if not gold or base is None:
        return out
    parser = gold[0].parser
    f2p = TestIndex(parser, dict.fromkeys(report.fail_to_pass, TestStatus.PASSED))
    p2p = TestIndex(parser, dict.fromkeys(report.pass_to_pass, TestStatus.PASSED))
    excluded = {
        why: TestIndex(parser, {t: TestStatus.FAILED for t, said in out.items() if said == why})
        for why in set(out.values())
    }
    runs = TestIndex(parser, gold[0].statuses), TestIndex(parser, base.statuses)
    broken = {module_of(m) for m in set().union(*(collection_errors(g.statuses) for g in gold))}
    for listed, same, other, moved in (
        (task.FAIL_TO_PASS, f2p, p2p, DropReason.PASSES_AT_BASE),
        (task.PASS_TO_PASS, p2p, f2p, DropReason.FAILS_AT_BASE),
    ):
        for test in listed:
            if same.find(test) is not None:
                continue
            if other.find(test) is not None:
                out[test] = str(moved)
            elif known := next((why for why, index in excluded.items() if index.find(test)), ""):
                out[test] = known
            else:
                out[test] = str(_why(test, *runs, broken))
    return out


def _why(test: str, gold: TestIndex, base: TestIndex, broken: set[str]) -> DropReason:
    """Why a test is in neither list, from its status in the first gold run (and at base)."""
    status = gold.find(test)
    if status is None:
        dotted = {m.removesuffix(".py").replace("/", ".") for m in broken}
        in_broken = any(m in test for m in broken | dotted)
        return DropReason.COLLECTION_ERROR if in_broken else DropReason.MISSING
    if status == TestStatus.PASSED:
        return DropReason.FAILS_AT_BASE if not counts_as_pass(base.find(test)) else DropReason.PASSES_AT_BASE
    return {
        TestStatus.XFAIL: DropReason.XFAIL,
        TestStatus.XPASS: DropReason.XPASS,
        TestStatus.SKIPPED: DropReason.SKIPPED,
    }.get(status, DropReason.FAILED)


def disagreement(task: Task, report: ValidationReport) -> dict[str, list[str]]:
    """Where our lists and the dataset's differ. Ids the dataset cut at a space (SWE-bench's log parser
    splits lines on whitespace, so `t[a b]` became `t[a`) are matched to ours and listed apart."""
    out: dict[str, list[str]] = {}
    for name, theirs, ours in (
        ("FAIL_TO_PASS", task.FAIL_TO_PASS, report.fail_to_pass),
        ("PASS_TO_PASS", task.PASS_TO_PASS, report.pass_to_pass),
    ):
        only_theirs, only_ours = set(theirs) - set(ours), set(ours) - set(theirs)
        cut = {t for t in only_theirs if any(_cut_from(o, t) for o in only_ours)}
        only_ours -= {o for o in only_ours if any(_cut_from(o, t) for t in cut)}
        out[f"{name} only in dataset"] = sorted(only_theirs - cut)
        out[f"{name} only in ours"] = sorted(only_ours)
        out[f"{name} cut at a space in dataset"] = sorted(cut)
    return {k: v for k, v in out.items() if v}


def _cut_from(full: str, cut: str) -> bool:
    return len(full) > len(cut) and full.startswith(cut) and full[len(cut)].isspace()
