"""The clone stands alone: nothing in it reads a folder beside the checkout, and the docs it links are in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _project_files():
    for path in ROOT.rglob("*"):
        if path.is_file() and not SKIP.intersection(path.relative_to(ROOT).parts):
            yield path


def test_nothing_reads_outside_the_clone():
    outside = re.compile(r"\.\./shared|/work/shared|parents\[3\]")
    this = Path(__file__).resolve()
    offenders = []
    for path in _project_files():
        if path == this or path.suffix not in {".py", ".sh", ".toml", ".yaml", ".yml", ".cfg", ".ini", ""}:
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in outside.finditer(text)]
    assert not offenders, offenders


def test_relative_links_in_the_docs_exist():
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if not (doc.parent / target).exists():
                missing.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not missing, missing
