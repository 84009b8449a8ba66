"""The user family's issue transforms: deterministic, never dropping the summary, never misspelling code."""

from __future__ import annotations

import random

import pytest
from swefarm.perturb.issue_text import drop_section, pad, reorder, sections, typos, vague
from swefarm.perturb.user_prompt import TRANSFORMS, UserPromptPerturbation, policy_rewriter, transform

ISSUE = """Parser drops the last field of a CSV row

When a row ends with a comma, `parse_row("a,b,")` returns `['a', 'b']`.

### Steps to reproduce

```python
from csvlib import parse_row
print(parse_row("a,b,"))
```

### Expected behavior

The trailing empty field should be kept: `['a', 'b', '']`."""


def test_sections_keep_code_with_its_paragraph_and_headings_with_their_text():
    parts = sections(ISSUE)
    assert len(parts) == 4
    assert parts[2].startswith("### Steps to reproduce") and parts[2].rstrip().endswith("```")
    assert parts[3].startswith("### Expected behavior")


def test_incomplete_removes_the_reproduction_or_the_expected_behaviour_only():
    no_repro = drop_section(ISSUE, "reproduction")
    assert 'parse_row("a,b,"))' not in no_repro and "Expected behavior" in no_repro
    no_expected = drop_section(ISSUE, "expected")
    assert "Expected behavior" not in no_expected and "Steps to reproduce" in no_expected
    assert drop_section("one line only", "expected") == "one line only"


def test_vague_keeps_the_summary_and_drops_the_specifics():
    text = vague(ISSUE, random.Random(0))
    assert text.startswith("Parser drops the last field of a CSV row")
    assert "```" not in text and "parse_row" not in text
    assert vague(ISSUE, random.Random(0)) == text


def test_reordered_is_a_real_permutation_of_the_sections():
    text = reorder(ISSUE, random.Random(1))
    assert text != ISSUE and sorted(sections(text)) == sorted(sections(ISSUE))


def test_padded_adds_context_and_keeps_the_issue_whole():
    text = pad(ISSUE, "both", random.Random(2))
    assert ISSUE in text and len(text) > len(ISSUE) + 50


def test_typos_touch_prose_but_never_code():
    text = typos(ISSUE, 1.0, random.Random(3))
    assert text != ISSUE
    for code in ("from csvlib import parse_row", 'print(parse_row("a,b,"))', '`parse_row("a,b,")`', "`['a', 'b', '']`"):
        assert code in text
    assert typos(ISSUE, 0.0, random.Random(3)) == ISSUE


@pytest.mark.parametrize("seed", range(12))
def test_every_drawn_combination_is_deterministic_and_keeps_the_issue_recognisable(seed):
    family = UserPromptPerturbation()
    params = family.sample(random.Random(seed))
    assert {t["name"] for t in params["transforms"]} <= set(TRANSFORMS)
    out = transform(ISSUE, params["transforms"])
    assert out == transform(ISSUE, params["transforms"])
    assert "CSV" in out or "csv" in out.lower()


def test_the_rewriter_runs_first_and_an_empty_answer_keeps_the_issue():
    calls = []

    def rewrite(text):
        calls.append(text)
        return "Rewritten: " + text.split("\n")[0]

    family = UserPromptPerturbation(rewrite=rewrite, rewrite_p=1.0, transforms=["padded"], max_transforms=1)
    params = family.sample(random.Random(0))
    assert [t["name"] for t in params["transforms"]] == ["rewrite", "padded"]
    assert "Rewritten: Parser drops" in transform(ISSUE, params["transforms"], rewrite)
    assert calls == [ISSUE]
    assert transform(ISSUE, [{"name": "rewrite"}], lambda text: "  ") == ISSUE


def test_a_policy_backend_rewrites_through_the_policy_protocol():
    class EchoPolicy:  # a deterministic stand-in for a model: answers with the user message reworded
        def begin(self, observation, info):
            self.messages = info["messages"]

        def act(self, observation, info):
            issue = self.messages[-1]["content"]
            return {"content": "<think>keep the facts</think>\nSo basically: " + issue.split("\n")[0].lower()}

    class Factory:
        def new(self, task=None):
            return EchoPolicy()

    rewrite = policy_rewriter(Factory())
    assert rewrite(ISSUE) == "So basically: parser drops the last field of a csv row"
