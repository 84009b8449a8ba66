"""Install inference: extras from every metadata format, requirements files, groups, build-tool pins."""

from __future__ import annotations

import pytest
from fixture_projects import project_files as project
from swefarm.harness.recipe_install import infer_install, poetry_requirement, requirement_name

SETUPTOOLS_TOML = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'


def test_pep621_test_extra_and_a_requirements_tests_file(tmp_path):
    toml = '[project]\nname = "x"\n[project.optional-dependencies]\ntest = ["pytest>=7"]\ndocs = ["sphinx"]\n'
    plan = infer_install(
        project(
            tmp_path,
            {"pyproject.toml": toml, "requirements/tests.txt": "coverage\n", "requirements/docs.txt": "sphinx\n"},
        )
    )
    assert plan.install == ["uv pip install -r requirements/tests.txt -e '.[test]'"]
    assert plan.extras == ["test"] and plan.requirements_files == ["requirements/tests.txt"]
    assert {"pytest", "coverage", "x"} <= plan.named and "sphinx" not in plan.named


def test_setup_cfg_extras_require(tmp_path):
    cfg = "[metadata]\nname = x\n[options.extras_require]\ntesting =\n    pytest\n    hypothesis\ndocs = sphinx\n"
    plan = infer_install(project(tmp_path, {"setup.cfg": cfg}))
    assert plan.install == ["uv pip install -e '.[testing]'"]
    assert {"pytest", "hypothesis"} <= plan.named


def test_setup_py_extras_prefers_test_extras_over_dev(tmp_path):
    setup = (
        "from setuptools import setup\n"
        "EXTRAS = {'tests': ['pytest', 'pytz'], 'lint': ['flake8'], 'dev': ['tox']}\n"
        "setup(name='x', extras_require=EXTRAS, tests_require=['nose'])\n"
    )
    plan = infer_install(project(tmp_path, {"setup.py": setup}))
    assert plan.install == ["uv pip install -e '.[tests]'"] and plan.extras == ["tests"]
    assert "pytest" in plan.named and "nose" not in plan.named  # tests_require is never installed


def test_setup_py_computed_extras_keep_their_names(tmp_path):
    setup = (
        "from setuptools import setup\nTESTS = ['pytest']\n"
        "setup(name='x', extras_require={'test': TESTS + ['mock'], 'all': sum([TESTS], [])})\n"
    )
    plan = infer_install(project(tmp_path, {"setup.py": setup}))
    assert plan.extras == ["test"] and "pytest" not in plan.named  # unknown contents: nothing assumed


def test_setup_py_that_does_not_parse_still_gives_its_extras(tmp_path):
    setup = 'print "py2"\nsetup(name="x", extras_require={"dev": ["pytest"], "docs": []})\n'
    assert infer_install(project(tmp_path, {"setup.py": setup})).install == ["uv pip install -e '.[dev]'"]


def test_dev_extra_when_there_is_no_test_extra(tmp_path):
    toml = '[project]\nname = "x"\n[project.optional-dependencies]\ndev = ["pytest"]\ndocs = ["sphinx"]\n'
    assert infer_install(project(tmp_path, {"pyproject.toml": toml})).extras == ["dev"]


def test_no_test_extra_is_noted(tmp_path):
    toml = '[project]\nname = "x"\n[project.optional-dependencies]\ndocs = ["sphinx"]\n'
    plan = infer_install(project(tmp_path, {"pyproject.toml": toml}))
    assert plan.install == ["uv pip install -e ."] and any("no test extra" in n for n in plan.notes)


def test_requirements_files_runtime_and_test_but_not_docs_lint_or_minimum_pins(tmp_path):
    files = {
        name: "six\n"
        for name in (
            "requirements.txt",
            "requirements-dev.txt",
            "requirements-docs.txt",
            "test-requirements.txt",
            "requirements_test_min.txt",
            "requirements_test_pre_commit.txt",
            "requirements/lint.txt",
        )
    }
    plan = infer_install(project(tmp_path, {**files, "setup.py": "from setuptools import setup\nsetup()\n"}))
    assert plan.requirements_files == ["requirements.txt", "test-requirements.txt"]
    assert plan.install == ["uv pip install -r requirements.txt -r test-requirements.txt -e ."]


def test_dev_requirements_when_there_is_no_test_file(tmp_path):
    plan = infer_install(project(tmp_path, {"requirements.txt": "click\n", "requirements_dev.txt": "pytest\n"}))
    assert plan.requirements_files == ["requirements.txt", "requirements_dev.txt"]
    assert plan.install == ["uv pip install -r requirements.txt -r requirements_dev.txt"]  # not a package
    assert "pytest" in plan.named


def test_test_variant_file_when_there_is_no_plain_test_file(tmp_path):
    plan = infer_install(project(tmp_path, {"requirements_test_brain.txt": "six\n", "dev-requirements.txt": "x\n"}))
    assert plan.requirements_files == ["requirements_test_brain.txt"]


def test_included_requirement_files_count_as_named(tmp_path):
    files = {
        "requirements/tests.txt": "-r base.txt\n--requirement ../extra.txt\ncoverage  # cov\n",
        "requirements/base.txt": "pytest==7.4.0\n-r tests.txt\n",
        "extra.txt": "hypothesis\n",
    }
    plan = infer_install(project(tmp_path, files))
    assert {"coverage", "pytest", "hypothesis"} <= plan.named


def test_nothing_to_install(tmp_path):
    plan = infer_install(project(tmp_path, {"README.md": "hi\n"}))
    assert plan.install == [] and any("nothing to install" in n for n in plan.notes)


def test_poetry_test_group_becomes_packages(tmp_path):
    toml = (
        '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = "^3.8"\nclick = "^8.0"\n'
        '[tool.poetry.group.test.dependencies]\npytest = "^6.2"\npytest-cov = {version = "~3.0", extras = ["toml"]}\n'
        'local = {path = "../local"}\n'
        '[tool.poetry.dev-dependencies]\nblack = "*"\n'
        '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    plan = infer_install(project(tmp_path, {"pyproject.toml": toml}))
    assert plan.install == ["uv pip install -e ."]
    assert plan.packages == ["pytest>=6.2,<7", "pytest-cov[toml]>=3.0,<3.1"]
    assert {"pytest", "click"} <= plan.named


def test_pep735_dependency_groups_with_includes(tmp_path):
    toml = (
        '[project]\nname = "x"\n[dependency-groups]\ncoverage = ["coverage[toml]"]\n'
        'test = ["pytest>=8", {include-group = "coverage"}]\n'
    )
    assert infer_install(project(tmp_path, {"pyproject.toml": toml})).packages == ["pytest>=8", "coverage[toml]"]


@pytest.mark.parametrize(
    "name, spec, expected",
    [
        ("a", "^1.2.3", "a>=1.2.3,<2"),
        ("a", "^0.2.3", "a>=0.2.3,<0.3"),
        ("a", "^0.0.3", "a>=0.0.3,<0.0.4"),
        ("a", "~1.2", "a>=1.2,<1.3"),
        ("a", "~1", "a>=1,<2"),
        ("a", "1.2.3", "a==1.2.3"),
        ("a", ">=1,<2", "a>=1,<2"),
        ("a", "*", "a"),
        ("a", "^1 || ^2", "a"),
        ("a", {"version": "^1.0", "extras": ["x", "y"]}, "a[x,y]>=1.0,<2"),
        ("a", [{"version": "^1.0", "python": "<3.8"}, {"version": "^2.0"}], "a>=1.0,<2"),
        ("a", {"git": "https://example.invalid/a.git"}, None),
        ("python", "^3.8", None),
    ],
)
def test_poetry_requirement(name, spec, expected):
    assert poetry_requirement(name, spec) == expected


@pytest.mark.parametrize(
    "line, name",
    [
        ("Django>=3.2", "django"),
        ("zope.interface", "zope-interface"),
        ("pkg @ git+https://x.invalid/p", "pkg"),
        ("git+https://x.invalid/p.git", None),
        ("-e .", None),
        ("# comment", None),
        ("", None),
        ("./local", None),
    ],
)
def test_requirement_name(line, name):
    assert requirement_name(line) == name
