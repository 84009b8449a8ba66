"""The zoo bench: its manifest, where it finds repositories, and how it counts (no Docker)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from swefarm.bench.zoo import RepoResult, ZooEntry, load_manifest, locate, totals
from swefarm.cli.zoo_cmd import DEFAULT_MANIFEST


def test_the_checked_in_zoo_is_diverse_and_names_no_local_paths():
    entries = load_manifest(DEFAULT_MANIFEST)
    assert len(entries) >= 40 and len({e.repo for e in entries}) == len(entries)
    kinds = {k for e in entries for k in e.kinds}
    for kind in ("setuptools-scm", "poetry", "hatch-vcs", "flit", "pdm", "c-extension", "requirements-only",
                 "tox", "django-app", "src-layout", "namespace-package", "pbr", "versioneer"):  # fmt: skip
        assert kind in kinds, kind
    years = {int(k) for e in entries for k in e.kinds if k.isdigit()}
    assert min(years) <= 2015 and max(years) >= 2025
    assert all(e.url.startswith("https://") and not e.path for e in entries)


def test_a_bad_entry_is_named(tmp_path):
    bad = tmp_path / "zoo.yaml"
    bad.write_text("repos:\n  - {repo: a/b, max: 0}\n")
    with pytest.raises(ValueError, match=r"entry 1 \(a/b\)"):
        load_manifest(bad)


def test_local_copies_are_found_as_fetch_lays_them_out(tmp_path):
    bare = tmp_path / "acme+widget" / "repo"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    assert locate(ZooEntry(repo="acme/widget"), tmp_path) == bare.resolve()
    assert locate(ZooEntry(repo="acme/widget", path=str(bare)), None) == bare.resolve()
    with pytest.raises(FileNotFoundError):
        locate(ZooEntry(repo="acme/other"), tmp_path)


def test_totals():
    results = [
        RepoResult(
            repo="a/a",
            window="",
            candidates=10,
            tasks=4,
            envs_attempted=1,
            envs_built=1,
            valid=2,
            env_build_ok=True,
            failures={"build:vcs_version": 1},
        ),  # fmt: skip
        RepoResult(
            repo="b/b",
            window="",
            candidates=10,
            tasks=2,
            envs_attempted=1,
            envs_built=0,
            valid=0,
            env_build_ok=False,
            failures={"build:vcs_version": 2, "validation:no_fail_to_pass": 1},
        ),  # fmt: skip
        RepoResult(repo="c/c", window="", candidates=5),  # no tasks: not counted for the build rate
    ]
    out = totals(results)
    assert out["repos"] == 3 and out["repos_with_tasks"] == 2 and out["env_build_ok_pct"] == 50.0
    assert out["valid_yield_pct"] == 8.0
    assert out["failure_classes"] == {"build:vcs_version": 3, "validation:no_fail_to_pass": 1}


def test_manifest_sits_beside_the_results():
    assert Path(__file__).resolve().parents[2] / "bench" / "zoo.yaml" == DEFAULT_MANIFEST


def test_the_js_zoo_covers_the_tooling_and_is_chosen_by_lang():
    from swefarm.cli.zoo_cmd import JS_MANIFEST

    entries = load_manifest(JS_MANIFEST)
    assert len(entries) >= 20 and len({e.repo for e in entries}) == len(entries)
    assert {e.language for e in entries} == {"javascript"}
    kinds = {k for e in entries for k in e.kinds}
    for kind in ("jest", "vitest", "mocha", "node-test", "npm", "yarn", "pnpm", "typescript", "monorepo"):
        assert kind in kinds, kind
    assert all(e.url.startswith("https://") and not e.path for e in entries)
    assert {e.language for e in load_manifest(DEFAULT_MANIFEST)} == {"python"}
