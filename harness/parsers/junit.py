"""pytest's JUnit XML (`-o junit_family=xunit1 --junitxml=PATH`), mapped back to pytest node ids.

pytest writes each test as `<testcase classname="tests.sub.test_x.TestA" name="test_b[p 1]"
file="tests/sub/test_x.py">`: the classname is the node id's file as a dotted path plus its
classes, the name is the last part of the node id with its parameters. With the `file` attribute
(xunit1) the split between module and classes is known. It is not when a test is inherited from a
class in another file (`file` names the defining file) or when the family is xunit2 (no `file`):
then node ids seen in the console output, mangled the same way, say which test it is, and failing
that a class is taken to start at the first capitalised part. Statuses come only from the XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from swefarm.harness.parsers.base import ParseError, record
from swefarm.harness.results import TestStatus

_FORBIDDEN = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_junit(xml_text: str, hints: Iterable[str] = ()) -> dict[str, TestStatus]:
    """Node id -> status for every <testcase> in a pytest JUnit XML report.

    `hints` are node ids seen elsewhere (the console log); they only help name inherited tests.
    Raises ParseError for an empty, malformed or non-JUnit document. A well-formed report with no
    test cases (nothing ran) gives an empty dict.
    """
    if not xml_text or not xml_text.strip():
        raise ParseError("the JUnit XML report is empty (did the test run crash before writing it?)")
    if _FORBIDDEN.search(xml_text):
        raise ParseError("the JUnit XML report declares a DTD or entities, which pytest never writes")
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ParseError(f"the JUnit XML report is malformed: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ParseError(f"not a JUnit XML report: the root element is <{root.tag}>")
    known = {mangle(h): h for h in hints}
    statuses: dict[str, TestStatus] = {}
    for case in root.iter("testcase"):
        name = case.get("name")
        if not name:
            raise ParseError("the JUnit XML report has a <testcase> without a name")
        node_id = node_id_of(case.get("classname", ""), name, case.get("file"), known)
        record(statuses, node_id, case_status(case))
    return statuses


def case_status(case: ET.Element) -> TestStatus:
    """A <testcase>'s outcome: error > failure (strict XPASS included) > xfail > skip > pass."""
    tags = {child.tag for child in case}
    if "error" in tags:
        return TestStatus.ERROR
    if "failure" in tags:
        return TestStatus.FAILED
    skipped = case.find("skipped")
    if skipped is not None:
        return TestStatus.XFAIL if skipped.get("type") == "pytest.xfail" else TestStatus.SKIPPED
    return TestStatus.PASSED


def mangle(node_id: str) -> tuple[str, str]:
    """(classname, name) as pytest's junitxml derives them from a node id (mangle_test_address)."""
    path, bracket, params = node_id.partition("[")
    names = path.split("::")
    names[0] = _dotted(names[0])
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def node_id_of(classname: str, name: str, file: str | None, known: dict[tuple[str, str], str]) -> str:
    """The pytest node id a <testcase> reports on."""
    if file:
        module = _dotted(file)
        if classname == module or classname.startswith(module + "."):
            classes = classname[len(module) + 1 :].split(".") if classname != module else []
            return "::".join([file, *classes, name])
        if not classname and name == module:
            return file  # a collection error or skip of a whole file
    if (classname, name) in known:
        return known[(classname, name)]
    parts = classname.split(".") if classname else []
    cut = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts))
    if not parts:
        return file or name
    return "::".join(["/".join(parts[:cut]) + ".py", *parts[cut:], name])


def _dotted(path: str) -> str:
    return re.sub(r"\.py$", "", path.replace("/", "."))
