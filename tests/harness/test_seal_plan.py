"""harness/seal.py: what grading hands to root before the tests run, chosen from the checked-out tree."""

from __future__ import annotations

from swefarm.harness.seal import plan

CALC = ["pyproject.toml", "src", "src/calc", "src/calc/__init__.py", "tests", "tests/test_calc.py"]


def by_kind(entries: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, kind in entries:
        out.setdefault(kind, []).append(path)
    return out


def test_test_directories_configuration_and_the_way_up_to_them():
    entries = by_kind(plan(CALC, ["tests/test_calc.py"], ["src/calc"], ["", "src"], (8, 0)))
    assert entries["tree"] == ["tests"] and entries["file"] == ["pyproject.toml"]
    assert entries["sticky"] == ["", "src"]  # the root and the sys.path root; the agent's package stays its own
    assert "src/calc" not in str(entries)
    assert set(entries["placeholder"]) == {
        "conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml",
        "sitecustomize.py", "usercustomize.py", "src/sitecustomize.py", "src/usercustomize.py",
    }  # fmt: skip


def test_old_pytest_and_other_runners_get_no_pytest_placeholders():
    """pytest before 6 reads a directory named pytest.ini as a file: no placeholder of that kind for it."""
    for version in (None, (5, 4)):
        holders = by_kind(plan(CALC, ["tests/test_calc.py"], ["src/calc"], [""], version))["placeholder"]
        assert holders == ["sitecustomize.py", "usercustomize.py"]


def test_nested_test_directories_and_config_at_every_depth():
    tree = ["setup.py", "conftest.py", "bin", "bin/test", "pkg", "pkg/core", "pkg/core/basic.py", "pkg/core/tests",
            "pkg/core/tests/test_basic.py", "pkg/core/tests/data", "pkg/core/tests/data/x.txt", "pkg/setup.cfg",
            "pkg/core/test_inline.py", "docs", "docs/conf.py"]  # fmt: skip
    entries = plan(tree, ["pkg/core/tests/test_basic.py", "pkg/core/test_inline.py"], ["pkg/core"], [""], (8, 0))
    kinds = by_kind(entries)
    assert kinds["tree"] == ["pkg/core/tests"]
    assert kinds["file"] == ["bin/test", "conftest.py", "pkg/core/test_inline.py", "pkg/setup.cfg"]
    assert kinds["sticky"] == ["", "bin", "pkg", "pkg/core"]  # shallowest first
    assert "pkg/core/__pycache__" in kinds["placeholder"] and "__pycache__" in kinds["placeholder"]
    assert "pkg/core/conftest.py" in kinds["placeholder"] and "conftest.py" not in kinds["placeholder"]
    assert not any(p.startswith("docs") for p, _ in entries)
    order = [kind for _, kind in entries]
    assert order == sorted(order, key=["tree", "file", "sticky", "placeholder"].index)


def test_a_test_directory_the_fix_changes_is_not_sealed_whole():
    tree = ["django", "django/test", "django/test/utils.py", "tests", "tests/runtests.py", "tests/app",
            "tests/app/tests.py"]  # fmt: skip
    kinds = by_kind(plan(tree, ["tests/app/tests.py"], ["django/test"], [""], None))
    assert kinds["tree"] == ["tests"] and "django/test" not in kinds.get("sticky", [])
