"""image_scrub: what a task image keeps of the environment build's artefacts, and what it scrubs in them."""

from __future__ import annotations

import json

import pytest
from swefarm.harness import image_scrub

METADATA_21 = (
    "Metadata-Version: 2.1\nName: calc\nVersion: 0.1\nRequires-Dist: pytest ; extra == 'test'\n"
    "Description-Content-Type: text/markdown\n\n# Changes\n\n- the later commit's fix\n"
)
METADATA_11 = (
    "Metadata-Version: 1.1\nName: calc\nVersion: 0.1\nDescription: Changes\n        |\n"
    "        |the later commit's fix\nPlatform: UNKNOWN\n"
)


@pytest.mark.parametrize(
    "text, kept_lines",
    [
        (
            METADATA_21,
            ["Metadata-Version: 2.1", "Name: calc", "Version: 0.1", "Description-Content-Type: text/markdown"],
        ),
        (METADATA_11, ["Name: calc", "Version: 0.1", "Platform: UNKNOWN"]),
    ],
)
def test_core_metadata_loses_its_description_and_keeps_the_rest(text, kept_lines):
    scrubbed = image_scrub.without_description(text)
    assert "later commit" not in scrubbed and "Changes" not in scrubbed
    for line in kept_lines:
        assert line + "\n" in scrubbed


@pytest.mark.parametrize(
    "rel, kept",
    [
        ("src/calc.egg-info/SOURCES.txt", True),
        ("src/calc/_speedups.cpython-311-x86_64-linux-gnu.so", True),
        ("src/calc/_version.py", True),
        ("build/__editable__.calc-0.1-py3-none-any/calc/__init__.py", True),
        ("src/calc/__pycache__/later.cpython-311.pyc", False),
        ("later.pyc", False),
        ("build/lib/calc/later.py", False),
        ("dist/calc-0.1.tar.gz", False),
        (".eggs/setuptools_scm-8.egg/x", False),
    ],
)
def test_which_artefacts_are_kept(rel, kept):
    assert image_scrub.keep(rel) is kept


def test_scrub_touches_only_the_kept_artefacts(tmp_path):
    repo, venv = tmp_path / "repo", tmp_path / "venv"
    egg = repo / "src/calc.egg-info"
    egg.mkdir(parents=True)
    (repo / "src/calc").mkdir()
    (repo / "src/calc/__init__.py").write_text("")
    (repo / "pyproject.toml").write_text("")
    (egg / "SOURCES.txt").write_text("pyproject.toml\nsrc/calc/__init__.py\nsrc/calc/later_only.py\n")
    (egg / "PKG-INFO").write_text(METADATA_21)
    tracked = repo / "docs/PKG-INFO"  # a tracked file that looks like metadata: never changed
    tracked.parent.mkdir()
    tracked.write_text(METADATA_21)
    kept = tmp_path / "kept"
    kept.write_text("src/calc.egg-info/SOURCES.txt\nsrc/calc.egg-info/PKG-INFO\n")
    dist = venv / "lib/python3.11/site-packages/calc-0.1.dist-info"
    other = venv / "lib/python3.11/site-packages/pytest-8.0.dist-info"
    for info, url in ((dist, "file:///testbed"), (other, "https://files.example/pytest.whl")):
        info.mkdir(parents=True)
        (info / "METADATA").write_text(METADATA_21)
        (info / "direct_url.json").write_text(json.dumps({"url": url, "dir_info": {"editable": True}}))
    image_scrub.main(["scrub", str(repo), str(kept), str(venv)])
    assert (egg / "SOURCES.txt").read_text() == "pyproject.toml\nsrc/calc/__init__.py\n"
    assert "later commit" not in (egg / "PKG-INFO").read_text()
    assert "later commit" not in (dist / "METADATA").read_text()
    assert (other / "METADATA").read_text() == METADATA_21 == tracked.read_text()


def test_keep_filters_a_list(tmp_path, capsys):
    made = tmp_path / "made"
    made.write_text("a.egg-info/PKG-INFO\nb/__pycache__/x.pyc\nbuild/lib/x.py\n")
    image_scrub.main(["keep", str(made)])
    assert capsys.readouterr().out == "a.egg-info/PKG-INFO\n"
