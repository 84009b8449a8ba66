"""Python version inference: each source of the version, the task date as a bound, the map to base images."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from swefarm.harness.recipe import ProjectFiles
from swefarm.harness.recipe_python import base_for, date_cap, infer_python, spec_allows


def project(root: Path, files: dict[str, str]) -> ProjectFiles:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return ProjectFiles.read(root)


def pick(root: Path, files: dict[str, str], created: date | None) -> tuple[str, str, str]:
    choice = infer_python(project(root, files), created)
    return choice.version, choice.best, choice.reason


def test_requires_python_in_pyproject_bounded_by_the_task_date(tmp_path):
    version, best, reason = pick(
        tmp_path, {"pyproject.toml": '[project]\nrequires-python = ">=3.10"\n'}, date(2024, 6, 1)
    )
    assert (version, best) == ("3.11", "3.12")
    assert "requires-python '>=3.10'" in reason and "2024-06-01" in reason


def test_setup_cfg_python_requires_with_an_old_date_gets_the_oldest_base(tmp_path):
    files = {"setup.cfg": "[metadata]\nname = x\n[options]\npython_requires = >=3.6\n"}
    assert pick(tmp_path, files, date(2019, 8, 21))[:2] == ("3.9", "3.7")


def test_setup_py_python_requires_read_with_ast_even_through_a_name(tmp_path):
    setup = 'from setuptools import setup\nREQ = ">=3.11"\nsetup(name="x", python_requires=REQ)\n'
    version, _, reason = pick(tmp_path, {"setup.py": setup}, date(2025, 6, 1))
    assert version == "3.13" and "setup.py python_requires '>=3.11'" in reason


def test_setup_py_python_requires_in_a_kwargs_dict(tmp_path):
    setup = "from setuptools import setup\nKW = {'python_requires': '>=3.12'}\nsetup(name='x', **KW)\n"
    assert pick(tmp_path, {"setup.py": setup}, date(2025, 6, 1))[0] == "3.13"


def test_setup_py_python_requires_by_regex_when_it_does_not_parse(tmp_path):
    setup = 'print "python 2"\nsetup(name="x", python_requires=">=3.5, <3.9")\n'
    assert pick(tmp_path, {"setup.py": setup}, date(2024, 1, 1))[:2] == ("3.9", "3.8")


def test_classifiers_cap_the_version_a_project_declaring_up_to_38_in_2020_gets_39(tmp_path):
    classifiers = "".join(f'    "Programming Language :: Python :: 3.{m}",\n' for m in (6, 7, 8))
    setup = f"from setuptools import setup\nsetup(name='x', classifiers=[\n{classifiers}])\n"
    version, best, reason = pick(tmp_path, {"setup.py": setup}, date(2020, 11, 1))
    assert (version, best) == ("3.9", "3.8")
    assert "classifiers 3.6-3.8" in reason


def test_pyproject_classifiers_up_to_312_map_down_to_311(tmp_path):
    toml = '[project]\nname = "x"\nclassifiers = ["Programming Language :: Python :: 3.12"]\n'
    assert pick(tmp_path, {"pyproject.toml": toml}, date(2025, 6, 1))[:2] == ("3.11", "3.12")


def test_tox_envlist_with_generative_names(tmp_path):
    tox = "[tox]\nenvlist = py{37,38,39,310}-django{32,40}, lint\n"
    version, best, reason = pick(tmp_path, {"tox.ini": tox}, date(2023, 6, 1))
    assert (version, best) == ("3.9", "3.10")
    assert "tox 3.7-3.10" in reason


def test_workflow_matrix_keeps_unquoted_310_as_310(tmp_path):
    workflow = (
        "on: [push]\njobs:\n  test:\n    strategy:\n      matrix:\n"
        "        python-version: [3.8, 3.9, 3.10, '3.11', pypy-3.9]\n"
        "    steps:\n      - uses: actions/setup-python@v4\n        with:\n"
        "          python-version: ${{ matrix.python-version }}\n"
    )
    version, best, reason = pick(tmp_path, {".github/workflows/ci.yml": workflow}, date(2025, 1, 1))
    assert (version, best) == ("3.11", "3.11")
    assert "workflows 3.8-3.11" in reason


def test_python_version_file_pins_the_version(tmp_path):
    version, best, reason = pick(tmp_path, {".python-version": "3.12.1\n"}, date(2024, 1, 1))
    assert (version, best) == ("3.11", "3.12") and ".python-version 3.12" in reason


@pytest.mark.parametrize(
    "created, expected",
    [(date(2019, 1, 1), "3.9"), (date(2021, 6, 1), "3.9"), (date(2023, 6, 1), "3.11"), (date(2025, 6, 1), "3.13")],
)
def test_without_metadata_the_task_date_decides(tmp_path, created, expected):
    assert pick(tmp_path, {}, created)[0] == expected


def test_a_2019_task_never_gets_313(tmp_path):
    files = {"pyproject.toml": '[project]\nrequires-python = ">=3.6"\n'}
    assert pick(tmp_path, files, date(2019, 3, 1))[0] == "3.9"


def test_no_date_means_today(tmp_path):
    assert pick(tmp_path, {}, None)[0] == "3.13"


def test_a_constraint_newer_than_the_date_wins(tmp_path):
    files = {"pyproject.toml": '[project]\nrequires-python = ">=3.12"\n'}
    assert pick(tmp_path, files, date(2022, 1, 1))[:2] == ("3.13", "3.12")


def test_an_upper_bound_is_respected(tmp_path):
    files = {"pyproject.toml": '[project]\nrequires-python = ">=3.8,<3.11"\n'}
    assert pick(tmp_path, files, date(2025, 1, 1))[:2] == ("3.9", "3.10")


def test_poetry_python_constraint(tmp_path):
    toml = '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = "~3.9"\n'
    version, best, reason = pick(tmp_path, {"pyproject.toml": toml}, date(2025, 1, 1))
    assert (version, best) == ("3.9", "3.9") and "poetry python" in reason


@pytest.mark.parametrize(
    "spec, version, ok",
    [
        (">=3.6", (3, 9), True),
        (">=3.6.1", (3, 6), True),
        (">=3.10", (3, 9), False),
        ("<3.9", (3, 9), False),
        ("<3.9.2", (3, 9), True),
        ("<=3.8", (3, 8), True),
        (">=2.7, !=3.0.*, !=3.1.*", (3, 1), False),
        (">=2.7, !=3.0.*, !=3.1.*", (3, 9), True),
        ("!=3.9.0", (3, 9), True),
        ("==3.9.*", (3, 9), True),
        ("==3.9.*", (3, 10), False),
        ("~=3.6", (3, 13), True),
        ("~=3.6.1", (3, 7), False),
        ("^3.8", (3, 13), True),
        ("^3.8", (3, 7), False),
        ("~3.8", (3, 9), False),
        (">=3.6,<4.0", (3, 11), True),
        (">=3.6 <3.8", (3, 9), False),
        ("3.7.* || 3.8.*", (3, 8), True),
        ("3.7.* || 3.8.*", (3, 9), False),
        ("*", (3, 13), True),
        ("nonsense", (3, 11), True),
    ],
)
def test_spec_allows(spec, version, ok):
    assert spec_allows(spec, version) is ok


@pytest.mark.parametrize(
    "python, base", [("3.6", "3.9"), ("3.9", "3.9"), ("3.10", "3.9"), ("3.12", "3.11"), ("3.14", "3.13"), ("x", "x")]
)
def test_base_for(python, base):
    assert base_for(python) == base


def test_date_cap_gives_a_release_time_to_mature():
    assert date_cap(date(2022, 11, 1)) == (3, 10)  # 3.11 was out a week: its wheels were not
    assert date_cap(date(2023, 6, 1)) == (3, 11)


def test_broken_workflow_yaml_is_a_note_not_an_error(tmp_path):
    proj = project(tmp_path, {".github/workflows/ci.yml": "jobs: [unclosed\n"})
    assert infer_python(proj, date(2023, 6, 1)).version == "3.11"
    assert any("ci.yml is not valid YAML" in n for n in proj.notes)
