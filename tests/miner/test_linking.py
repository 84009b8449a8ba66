"""Closing-keyword linking: what GitHub would link, and what it would not."""

from __future__ import annotations

import pytest
from swefarm.miner.linking import IssueRef, closing_refs, linked_issue_numbers, strip_html_comments

KEYWORDS = ["close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"]


def numbers(text: str) -> list[int]:
    return [r.number for r in closing_refs(text)]


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_every_keyword_links(keyword):
    assert closing_refs(f"This {keyword} #12.") == [IssueRef(None, 12, keyword)]


@pytest.mark.parametrize("keyword", ["FIXES", "Fixes", "fIxEs", "Closed", "RESOLVE"])
def test_keywords_are_case_insensitive_and_reported_lowercase(keyword):
    assert closing_refs(f"{keyword} #7") == [IssueRef(None, 7, keyword.lower())]


@pytest.mark.parametrize("text", ["Fixes: #7", "Closes:  #7", "resolves\t#7", "fixes\n#7"])
def test_optional_colon_and_any_whitespace(text):
    assert numbers(text) == [7]


@pytest.mark.parametrize("text", ["fixes:#7", "fixes::#7", "fixes :#7", "fixes - #7", "fixes#7", "fixes (#7)"])
def test_needs_colon_then_whitespace_then_reference(text):
    assert numbers(text) == []


def test_reference_at_start_end_and_punctuation():
    assert numbers("fixes #1") == [1]
    assert numbers("(fixes #2)") == [2]
    assert numbers("Summary.\n\nFixes #3.\n") == [3]
    assert numbers("fixes #4, thanks") == [4]
    assert numbers("closes #12-ish") == [12]  # '-' is a word boundary


def test_cross_repo_reference_keeps_repo_as_written():
    assert closing_refs("fixes Owner/Repo.py#5") == [IssueRef("Owner/Repo.py", 5, "fixes")]


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octo/proj/issues/42",
        "http://github.com/octo/proj/issues/42",
        "https://github.example.com/octo/proj/issues/42",
        "https://git.corp.internal:8443/octo/proj/issues/42",
        "https://github.com/octo/proj/issues/42#issuecomment-1",
    ],
)
def test_issue_urls_on_any_host(url):
    assert closing_refs(f"Fixes {url}") == [IssueRef("octo/proj", 42, "fixes")]


@pytest.mark.parametrize(
    "text",
    [
        "fixes https://github.com/octo/proj/pull/42",
        "fixes https://github.com/octo/proj/issues/42abc",
        "fixes github.com/octo/proj/issues/42",
        "fixes https://github.com/octo/proj/issues",
    ],
)
def test_pull_urls_and_malformed_urls_do_not_link(text):
    assert closing_refs(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "prefix #12",
        "#12 is related",
        "see #12",
        "unfixed #12",
        "fixes in #12",
        "refixes #3",
        "re-fixes #3",
        "fix-#3",
        "bugfixes #3",
        "closesx #3",
        "fixes #12abc",
        "fixes #abc",
        "fixes issue #12",
        "fixed the bug in #12",
    ],
)
def test_false_positives(text):
    assert closing_refs(text) == []


def test_only_the_reference_right_after_the_keyword_counts():
    assert numbers("closes #1, #2") == [1]
    assert numbers("closes #1 and #2") == [1]
    assert numbers("fixes #1 and fixes #2") == [1, 2]
    assert numbers("Fixes #1\nCloses #2\nresolved #3") == [1, 2, 3]


def test_order_of_appearance_without_repeats():
    assert numbers("fixes #9, closes #2, fixes #9, resolves #2") == [9, 2]
    # the first spelling is kept; repos compare case-insensitively
    refs = closing_refs("fixes o/r#1 closes O/R#1 fixes #1")
    assert refs == [IssueRef("o/r", 1, "fixes"), IssueRef(None, 1, "fixes")]


def test_bare_and_qualified_refs_are_distinct():
    assert closing_refs("fixes #1 fixes o/r#1") == [IssueRef(None, 1, "fixes"), IssueRef("o/r", 1, "fixes")]


def test_strip_html_comments():
    assert strip_html_comments("a<!-- b -->c") == "ac"
    assert strip_html_comments("a<!-- b\nfixes #1\n-->c<!--d-->e") == "ace"
    assert strip_html_comments("keep <!-- unterminated\nfixes #1") == "keep "
    assert strip_html_comments("no comments") == "no comments"
    assert strip_html_comments("") == ""


def test_keywords_inside_html_comments_are_ignored():
    body = (
        "<!-- Please write 'Fixes #123' to link the issue -->\n"
        "Fixes #45\n"
        "<!--\nCloses #99\n-->\n"
        "resolves #46\n"
        "<!-- Closes #100"
    )
    assert numbers(body) == [45, 46]


def test_empty_text():
    assert closing_refs("") == []
    assert linked_issue_numbers([], "o/r") == []
    assert linked_issue_numbers(["", "nothing here"], "o/r") == []


def test_linked_issue_numbers_counts_only_this_repo():
    texts = [
        "Fix crash (fixes #12)",
        "fixes other/repo#13 and closes octo/proj#14",
        "Resolves https://github.com/octo/proj/issues/15 and fixes https://github.com/other/repo/issues/16",
        "closes https://github.com/octo/proj/pull/17",
    ]
    assert linked_issue_numbers(texts, "octo/proj") == [12, 14, 15]
    assert linked_issue_numbers(texts, "other/repo") == [12, 13, 16]


def test_linked_issue_numbers_repo_is_case_insensitive():
    assert linked_issue_numbers(["fixes Octo/Proj#3", "fixes https://github.com/OCTO/proj/issues/4"], "octo/PROJ") == [
        3,
        4,
    ]


def test_linked_issue_numbers_over_title_body_and_commits_sorted_unique():
    title = "Handle empty input (#30)"
    body = "<!-- fixes #1 -->\nThis PR closes #21.\n\nAlso fixes #20, #19."
    commits = ["Fix parser\n\nFixes #21", "tests\n\nresolved: #5", "fixup"]
    assert linked_issue_numbers([title, body, *commits], "octo/proj") == [5, 20, 21]


def test_issue_ref_is_frozen_and_hashable():
    ref = IssueRef("o/r", 1, "fixes")
    assert {ref, IssueRef("o/r", 1, "fixes")} == {ref}
    with pytest.raises(AttributeError):
        ref.number = 2  # type: ignore[misc]
