"""The funnel report: a real MinerState in a temporary directory, read back as table, JSON and HTML."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from rich.console import Console
from swefarm.miner.models import STAGES, PullRecord, Rejection, Stage
from swefarm.miner.report import STAGE_LABELS, funnel_json, funnel_table, write_html
from swefarm.miner.state import MinerState

REPO = "octo/widgets"
HOSTILE = "<script>alert(1)</script>"
EXAMPLE_URL = "https://github.com/octo/widgets/pull/9"

# (number, stage reached, rejection: stage it failed to reach and code)
PLAN = [
    (1, Stage.CANDIDATE, (Stage.LINKED, "no_linked_issue")),
    (2, Stage.CANDIDATE, (Stage.LINKED, "no_linked_issue")),
    (3, Stage.CANDIDATE, (Stage.LINKED, "before_cutoff")),
    (4, Stage.LINKED, (Stage.FILTERED, "no_test_change")),
    (5, Stage.LINKED, (Stage.FILTERED, "no_test_change")),
    (6, Stage.LINKED, (Stage.FILTERED, HOSTILE)),
    (7, Stage.FILTERED, (Stage.BUILT, "build_failed")),
    (8, Stage.FILTERED, None),  # still in progress
    (9, Stage.BUILT, (Stage.VALID, "flaky")),
    (10, Stage.VALID, None),
]


def record(number: int, title: str = "Fix a bug") -> PullRecord:
    when = datetime(2024, 5, number, tzinfo=UTC)
    return PullRecord(repo=REPO, kind="pull", number=number, title=title, created_at=when, merged_at=when)


@pytest.fixture
def funnel(tmp_path):
    state = MinerState(tmp_path / "miner.db")
    run = state.start_run(REPO, "github", {"limit": 10})
    for number, stage, rejection in PLAN:
        rej = Rejection(stage=rejection[0], code=rejection[1], detail=HOSTILE) if rejection else None
        title = HOSTILE if number == 10 else "Fix a bug"
        state.save(record(number, title), "github", stage, rejection=rej, instance_id=f"octo__widgets-{number}")
    state.end_run(run, seconds=120.0, processed=len(PLAN))
    yield state.funnel(REPO)
    state.close()


@pytest.fixture
def empty_funnel(tmp_path):
    state = MinerState(tmp_path / "empty.db")
    yield state.funnel(REPO)
    state.close()


class PageParser(HTMLParser):
    """Checks tags open and close in order, and collects the funnel's bars and every attribute value."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.bars: list[tuple[str, float]] = []
        self.tags: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.scripts += tag == "script"
        if tag == "rect" and dict(attrs).get("class") == "stage-bar":
            self.bars.append((dict(attrs)["data-stage"], float(dict(attrs)["width"])))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def test_funnel_numbers(funnel):
    reached = [c.reached for c in funnel.stages]
    assert [c.stage for c in funnel.stages] == STAGES
    assert reached == [10, 7, 4, 2, 1]
    assert reached == sorted(reached, reverse=True)
    rejected = {c.stage: c.rejected for c in funnel.stages}
    assert rejected[Stage.CANDIDATE] == {}
    assert rejected[Stage.LINKED] == {"before_cutoff": 1, "no_linked_issue": 2}
    assert rejected[Stage.FILTERED] == {HOSTILE: 1, "no_test_change": 2}
    assert rejected[Stage.BUILT] == {"build_failed": 1}
    assert rejected[Stage.VALID] == {"flaky": 1}
    assert funnel.pending == 1
    assert funnel.yield_pct == pytest.approx(10.0)
    assert funnel.per_minute == pytest.approx(5.0)


def test_table_renders_counts_and_reasons(funnel):
    console = Console(record=True, width=160)
    console.print(funnel_table(funnel))
    text = console.export_text()
    for label in STAGE_LABELS.values():
        assert label in text
    assert "no_linked_issue 2, before_cutoff 1" in text
    assert "no_test_change 2" in text and HOSTILE in text  # shown literally, not taken as rich markup
    assert "build_failed 1" in text and "flaky 1" in text
    assert "100.0%" in text and "70.0%" in text and "10.0%" in text
    assert "yield 10.0% (1 valid / 10 candidates)" in text
    assert "1 pending" in text and "5.0 candidates/min" in text


def test_json_round_trips(funnel):
    data = funnel_json(funnel)
    again = json.loads(json.dumps(data))
    assert again == data
    assert [s["reached"] for s in again["stages"]] == [10, 7, 4, 2, 1]
    assert again["stages"][1]["rejected"] == {"before_cutoff": 1, "no_linked_issue": 2}
    assert (again["candidates"], again["valid"], again["pending"]) == (10, 1, 1)
    assert again["yield_pct"] == 10.0 and again["per_minute"] == 5.0
    assert again["runs"][0]["processed"] == 10


def test_html_page(funnel, tmp_path):
    examples = [
        {"instance_id": "octo__widgets-10", "status": "valid", "title": HOSTILE, "url": EXAMPLE_URL,
         "problem_statement": f"Widgets crash\n{HOSTILE}\nthird line\nfourth line not shown"},
        {"instance_id": "octo__widgets-9", "status": "flaky", "url": "javascript:alert(1)", "problem_statement": ""},
    ]  # fmt: skip
    path = write_html(funnel, tmp_path / "deep" / "dir" / "report.html", examples=examples)
    assert path == tmp_path / "deep" / "dir" / "report.html" and path.exists()
    text = path.read_text(encoding="utf-8")
    page = parse(text)

    assert REPO in text.split("</title>")[0]
    assert "svg" in page.tags
    assert [stage for stage, _ in page.bars] == [str(s) for s in STAGES]
    widths = [w for _, w in page.bars]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1] > 0
    assert "7 (70.0%)" in text and "1 (10.0%)" in text
    for code in ["no_linked_issue", "before_cutoff", "no_test_change", "build_failed", "flaky"]:
        assert code in text
    assert "10.0%" in text and "5.0" in text  # yield and per minute

    # Inert: no script element anywhere, the hostile text only escaped, no link but the example's.
    assert page.scripts == 0 and "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "javascript:" not in text
    assert set(re.findall(r"https?://[^\s\"'<>]*", text)) == {EXAMPLE_URL}
    assert "fourth line" not in text


def test_html_reasons_use_descriptions(funnel, tmp_path, monkeypatch):
    import swefarm.miner.report

    monkeypatch.setattr(
        swefarm.miner.report, "reason_descriptions", lambda: {"no_test_change": "the PR changes no tests"}
    )
    text = write_html(funnel, tmp_path / "r.html").read_text(encoding="utf-8")
    parse(text)
    assert "the PR changes no tests" in text
    assert "<h2>Example tasks</h2>" not in text


def test_empty_funnel(empty_funnel, tmp_path):
    assert empty_funnel.candidates == 0 and empty_funnel.yield_pct == 0.0
    console = Console(record=True, width=160)
    console.print(funnel_table(empty_funnel))
    assert "yield 0.0% (0 valid / 0 candidates)" in console.export_text()
    data = json.loads(json.dumps(funnel_json(empty_funnel)))
    assert data["candidates"] == 0 and data["yield_pct"] == 0.0 and data["runs"] == []
    text = write_html(empty_funnel, tmp_path / "empty.html").read_text(encoding="utf-8")
    page = parse(text)
    assert [w for _, w in page.bars] == [0.0] * len(STAGES)
    assert "No rejections recorded." in text
    assert not re.search(r"https?://", text)
