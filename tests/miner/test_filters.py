"""Every filter reason: a candidate just inside each limit passes, one just outside is rejected."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest
from swefarm.miner.filters import REASONS, FilterConfig, check_patch, check_record
from swefarm.miner.license import PERMISSIVE
from swefarm.miner.models import PullRecord, Stage
from swefarm.miner.patches import FileChange, PatchSplit, classify, language, split_patch

CREATED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def record(**changes) -> PullRecord:
    fields = {
        "repo": "octo/proj",
        "kind": "pull",
        "number": 7,
        "title": "Fix parser",
        "created_at": CREATED,
        "merged_at": CREATED,
        "linked_issues": [3],
        "license": "MIT",
    }
    return PullRecord(**{**fields, **changes})


def change(path: str, added: int = 1, removed: int = 0, **kw) -> FileChange:
    fields = {"kind": classify(path), "language": language(path), "binary": False, "status": "modified"}
    return FileChange(path=path, added=added, removed=removed, **{**fields, **kw})


def patch(*files: FileChange) -> PatchSplit:
    return PatchSplit(gold="", tests="", files=list(files))


GOOD = patch(change("pkg/core.py", 5, 2), change("tests/test_core.py", 10, 0))


def codes(rejections) -> list[str]:
    return [r.code for r in rejections]


# --- config and reasons ----------------------------------------------------------------------------


def test_defaults():
    config = FilterConfig()
    assert config.require_issue is True
    assert (config.max_files, config.max_lines, config.max_test_lines) == (15, 600, 2000)
    assert config.languages == ["python"]
    assert config.licenses == sorted(PERMISSIVE)
    assert config.allow_unknown_license is False and config.allow_binary is False
    assert config.cutoff is None


def test_config_forbids_unknown_fields_and_parses_dates():
    with pytest.raises(pydantic.ValidationError):
        FilterConfig(max_file=3)
    assert FilterConfig(cutoff="2024-06-01T00:00:00Z").cutoff == datetime(2024, 6, 1, tzinfo=UTC)


def test_defaults_are_not_shared():
    a, b = FilterConfig(), FilterConfig()
    a.languages.append("c")
    assert b.languages == ["python"]


def test_every_code_has_a_reason():
    produced = {
        "no_linked_issue",
        "before_cutoff",
        "license_not_permissive",
        "license_unknown",
        "empty_diff",
        "binary_files",
        "docs_only",
        "no_code_change",
        "no_test_change",
        "other_language_code",
        "too_many_files",
        "too_many_lines",
        "too_many_test_lines",
    }
    assert set(REASONS) == produced
    assert all(REASONS[c] and "\n" not in REASONS[c] for c in produced)


# --- record checks ---------------------------------------------------------------------------------


def test_good_record_passes():
    assert check_record(record(), FilterConfig()) == []


def test_before_cutoff_boundary():
    config = FilterConfig(cutoff=CREATED)
    assert check_record(record(), config) == []  # created exactly at the cutoff: kept
    rejected = check_record(record(created_at=datetime(2025, 3, 1, 11, 59, tzinfo=UTC)), config)
    assert codes(rejected) == ["before_cutoff"]
    assert rejected[0].stage == Stage.LINKED
    assert "2025-03-01" in rejected[0].detail


def test_cutoff_naive_and_aware_compare():
    assert codes(check_record(record(created_at=datetime(2024, 1, 1)), FilterConfig(cutoff=CREATED))) == [
        "before_cutoff"
    ]
    assert check_record(record(), FilterConfig(cutoff=datetime(2025, 1, 1))) == []


def test_license_unknown():
    assert codes(check_record(record(license=None), FilterConfig())) == ["license_unknown"]
    assert check_record(record(license=None), FilterConfig(allow_unknown_license=True)) == []


@pytest.mark.parametrize("spdx", ["GPL-3.0", "AGPL-3.0", "LGPL-2.1", "MPL-2.0", "Proprietary"])
def test_license_not_permissive(spdx):
    rejected = check_record(record(license=spdx), FilterConfig())
    assert codes(rejected) == ["license_not_permissive"]
    assert rejected[0].detail == spdx


def test_license_allow_list_is_configurable():
    assert check_record(record(license="GPL-3.0"), FilterConfig(licenses=["GPL-3.0"])) == []
    assert codes(check_record(record(license="MIT"), FilterConfig(licenses=["Apache-2.0"]))) == [
        "license_not_permissive"
    ]
    assert check_record(record(license="MIT OR GPL-3.0"), FilterConfig()) == []


def test_no_linked_issue():
    assert codes(check_record(record(linked_issues=[]), FilterConfig())) == ["no_linked_issue"]
    assert check_record(record(linked_issues=[]), FilterConfig(require_issue=False)) == []


def test_record_rejections_all_reported_in_order():
    bad = record(created_at=datetime(2020, 1, 1, tzinfo=UTC), license="GPL-2.0", linked_issues=[])
    rejected = check_record(bad, FilterConfig(cutoff=CREATED))
    assert codes(rejected) == ["before_cutoff", "license_not_permissive", "no_linked_issue"]
    assert {r.stage for r in rejected} == {Stage.LINKED}


# --- patch checks ----------------------------------------------------------------------------------


def test_good_patch_passes():
    assert check_patch(GOOD, FilterConfig()) == []


def test_empty_diff():
    rejected = check_patch(split_patch(""), FilterConfig())
    assert codes(rejected) == ["empty_diff", "no_code_change", "no_test_change"]
    assert {r.stage for r in rejected} == {Stage.FILTERED}


def test_binary_files():
    split = patch(*GOOD.files, change("pkg/logo.png", 0, 0, binary=True))
    rejected = check_patch(split, FilterConfig())
    assert codes(rejected) == ["binary_files"]
    assert "pkg/logo.png" in rejected[0].detail
    assert check_patch(split, FilterConfig(allow_binary=True)) == []


def test_binary_test_data_counts_too():
    split = patch(*GOOD.files, change("tests/data/img.png", 0, 0, binary=True))
    assert codes(check_patch(split, FilterConfig())) == ["binary_files"]


def test_docs_only():
    split = patch(change("docs/index.rst"), change("README.md"))
    assert codes(check_patch(split, FilterConfig())) == ["docs_only", "no_code_change", "no_test_change"]
    # one non-doc file is enough to not be docs-only
    assert "docs_only" not in codes(check_patch(patch(change("docs/index.rst"), change("setup.cfg")), FilterConfig()))


def test_no_code_change():
    split = patch(change("pyproject.toml"), change("tests/test_x.py"))
    assert codes(check_patch(split, FilterConfig())) == ["no_code_change"]
    assert check_patch(patch(change("pyproject.toml"), *GOOD.files), FilterConfig()) == []


def test_no_test_change():
    assert codes(check_patch(patch(change("pkg/core.py")), FilterConfig())) == ["no_test_change"]


def test_other_language_code():
    split = patch(*GOOD.files, change("src/ext.c"), change("src/ext.h"), change("pkg/_fast.pyx"))
    rejected = check_patch(split, FilterConfig())
    assert codes(rejected) == ["other_language_code"]
    assert "src/ext.c" in rejected[0].detail and "pkg/_fast.pyx" in rejected[0].detail
    assert "pkg/core.py" not in rejected[0].detail
    assert check_patch(split, FilterConfig(languages=["python", "c", "cython"])) == []


def test_other_language_code_ignores_test_files():
    split = patch(*GOOD.files, change("tests/test_ext.c"), change("tests/helpers.js"))
    assert check_patch(split, FilterConfig()) == []


def test_other_language_code_names_are_capped():
    split = patch(*GOOD.files, *(change(f"src/m{i}.c") for i in range(8)))
    detail = check_patch(split, FilterConfig())[0].detail
    assert "src/m4.c" in detail and "src/m5.c" not in detail and "3 more" in detail


def test_too_many_files_boundary():
    config = FilterConfig(max_files=3)
    at = patch(*(change(f"pkg/m{i}.py") for i in range(3)), change("tests/test_a.py"), change("tests/test_b.py"))
    assert check_patch(at, config) == []  # test files do not count
    over = patch(*at.files, change("setup.cfg"))
    rejected = check_patch(over, config)
    assert codes(rejected) == ["too_many_files"]
    assert rejected[0].detail == "4 files > 3"


def test_too_many_lines_boundary():
    config = FilterConfig(max_lines=600)
    at = patch(change("pkg/a.py", 300, 200), change("README.md", 100, 0), change("tests/test_a.py", 5000, 0))
    assert "too_many_lines" not in codes(check_patch(at, config))
    over = patch(change("pkg/a.py", 300, 201), change("README.md", 100, 0), change("tests/test_a.py", 1, 0))
    rejected = check_patch(over, config)
    assert codes(rejected) == ["too_many_lines"]
    assert rejected[0].detail == "601 lines > 600"


def test_too_many_test_lines_boundary():
    config = FilterConfig(max_test_lines=2000)
    at = patch(change("pkg/a.py"), change("tests/test_a.py", 1500, 400), change("tests/conftest.py", 100, 0))
    assert check_patch(at, config) == []
    over = patch(change("pkg/a.py"), change("tests/test_a.py", 1500, 401), change("tests/conftest.py", 100, 0))
    rejected = check_patch(over, config)
    assert codes(rejected) == ["too_many_test_lines"]
    assert rejected[0].detail == "2001 test lines > 2000"


def test_patch_rejections_all_reported_in_order():
    split = patch(
        change("src/big.rs", 700, 0),
        change("data/blob.bin", 0, 0, binary=True),
        *(change(f"conf{i}.toml") for i in range(15)),
    )
    rejected = check_patch(split, FilterConfig())
    assert codes(rejected) == [
        "binary_files",
        "no_test_change",
        "other_language_code",
        "too_many_files",
        "too_many_lines",
    ]
    assert all(r.detail for r in rejected)


def test_patch_from_a_real_diff():
    diff = (
        "diff --git a/pkg/m.py b/pkg/m.py\nindex 1..2 100644\n--- a/pkg/m.py\n+++ b/pkg/m.py\n"
        "@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/tests/test_m.py b/tests/test_m.py\nindex 3..4 100644\n--- a/tests/test_m.py\n"
        "+++ b/tests/test_m.py\n@@ -1 +1,2 @@\n x\n+y\n"
    )
    assert check_patch(split_patch(diff), FilterConfig()) == []
    assert codes(check_patch(split_patch(diff), FilterConfig(max_lines=1))) == ["too_many_lines"]


def test_a_javascript_task_takes_js_and_ts_code_and_its_own_test_names():
    config = FilterConfig(language="javascript")
    assert config.languages == ["javascript", "typescript"]
    split = patch(change("src/slug.ts"), change("lib/util.js"), change("src/slug.test.ts"), change("spec/x.js"))
    assert [f.kind for f in split.files] == ["code", "code", "test", "test"]
    assert check_patch(split, config) == []
    assert codes(check_patch(split, FilterConfig())) == ["other_language_code"]  # a Python task's filter
    python = patch(*GOOD.files)
    assert codes(check_patch(python, config)) == ["other_language_code"]
    with pytest.raises(ValueError, match="unknown task language"):
        FilterConfig(language="cobol")
