"""The structured reports of JavaScript test runners, mapped to `FILE::TITLE` ids (harness/runners_js.py).

    parse_node_report(text)        # swefarm's node --test reporter: one JSON line a test
    parse_jest_json(text, root)    # jest --json, and vitest's json reporter (the same shape)
    parse_mocha_json(text, root)   # mocha --reporter json

FILE is relative to the repository root (`root`, the sandbox's workspace by default), TITLE the
describe blocks' titles and the test's joined by " > ". A file that failed to load is an ERROR
under its path alone. Statuses come only from the report; a report that cannot be read is a
ParseError (the caller decides whose failure that is). The log is never read.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from swefarm.harness.parsers.base import ParseError, record
from swefarm.harness.results import TestStatus

ROOT = "/testbed"
SEP = " > "
_JEST = {
    "passed": TestStatus.PASSED,
    "failed": TestStatus.FAILED,
    "pending": TestStatus.SKIPPED,
    "skipped": TestStatus.SKIPPED,
    "todo": TestStatus.SKIPPED,
    "disabled": TestStatus.SKIPPED,
}
_NODE = {s.value: s for s in (TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED)}


def _relative(path: str, root: str) -> str:
    if path.startswith("/"):
        return posixpath.relpath(path, root)
    return posixpath.normpath(path) if path else path


def _key(file: str, title: str) -> str:
    return f"{file}::{title}" if title else file


def _document(text: str, what: str) -> Any:
    if not text or not text.strip():
        raise ParseError(f"the {what} report is empty (did the test run crash before writing it?)")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseError(f"the {what} report is not JSON: {exc}") from None


def parse_node_report(text: str, root: str = ROOT) -> dict[str, TestStatus]:
    """swefarm's node --test reporter: JSON lines `{"file", "name", "status"}`."""
    if not text or not text.strip():
        raise ParseError("the node --test report is empty (did the test run crash before writing it?)")
    statuses: dict[str, TestStatus] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            file, name, status = str(row["file"]), str(row["name"]), _NODE[row["status"]]
        except (ValueError, KeyError, TypeError):
            raise ParseError(f"line {number} of the node --test report is not a test result") from None
        record(statuses, _key(_relative(file, root), name), status)
    return statuses


def parse_jest_json(text: str, root: str = ROOT) -> dict[str, TestStatus]:
    """jest's `--json` report (vitest's json reporter writes the same shape)."""
    doc = _document(text, "jest/vitest JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("testResults"), list):
        raise ParseError("not a jest/vitest JSON report: no testResults list")
    statuses: dict[str, TestStatus] = {}
    for suite in doc["testResults"]:
        file = _relative(str(suite.get("name") or suite.get("testFilePath") or ""), root)
        cases = suite.get("assertionResults") or suite.get("testResults") or []
        for case in cases:
            titles = [t for t in case.get("ancestorTitles", []) if t]  # vitest names the file's own suite ""
            title = SEP.join([*titles, case.get("title", "")])
            record(statuses, _key(file, title), _JEST.get(case.get("status", ""), TestStatus.FAILED))
        if not cases and suite.get("status") == "failed":  # the file did not load (a syntax error, an import)
            record(statuses, file, TestStatus.ERROR)
    return statuses


def parse_mocha_json(text: str, root: str = ROOT) -> dict[str, TestStatus]:
    """mocha's json reporter: `tests` lists every test that ran, `failures` and `pending` say which did not pass.

    A failing hook is reported as a failure titled `"before each" hook for "..."`: an ERROR of that hook's
    test, which is never run."""
    doc = _document(text, "mocha JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
        raise ParseError("not a mocha JSON report: no tests list")

    def key(case: dict) -> str:
        titles = [t for t in (case.get("titlePath") or []) if isinstance(t, str)]
        title = SEP.join(titles) if titles else str(case.get("fullTitle", ""))
        return _key(_relative(str(case.get("file", "")), root), title)

    statuses: dict[str, TestStatus] = {}
    for case in doc["tests"]:
        record(statuses, key(case), TestStatus.PASSED)
    for case in doc.get("pending", []):
        record(statuses, key(case), TestStatus.SKIPPED)
    for case in doc.get("failures", []):
        hook = '" hook' in str(case.get("title", ""))
        record(statuses, key(case), TestStatus.ERROR if hook else TestStatus.FAILED)
    return statuses
