"""Base-image selection and the apt mirror lookup (no Docker needed)."""

from __future__ import annotations

import pytest
from swefarm.sandbox import bases
from swefarm.sandbox.errors import SetupError


@pytest.mark.parametrize(
    ("python", "tag", "release"),
    [
        ("3.11", "swefarm/base:py3.11", "bookworm"),
        ("3.9", "swefarm/base:py3.9", "bullseye"),
        ("3.13", "swefarm/base:py3.13", "trixie"),
        ("3.10", "swefarm/base:py3.9", "bullseye"),
        ("3.12", "swefarm/base:py3.11", "bookworm"),
        ("3.14", "swefarm/base:py3.13", "trixie"),
    ],
)
def test_base_for_maps_to_nearest_base(python, tag, release):
    spec = bases.base_for(python)
    assert (spec.tag, spec.release) == (tag, release)


def test_base_for_rejects_python2():
    with pytest.raises(SetupError):
        bases.base_for("2.7")


def test_apt_mirror_reads_deb822_and_one_line_sources(tmp_path, monkeypatch):
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\nURIs: http://mirror.example.invalid/debian\nSuites: bookworm\n")
    monkeypatch.setattr(bases, "_source_files", lambda: [deb822])
    assert bases.apt_mirror() == "http://mirror.example.invalid/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text(
        "deb http://security.example.invalid/debian-security bookworm-security main\n"
        "deb [arch=amd64] http://other.example.invalid/debian bookworm main\n"
    )
    monkeypatch.setattr(bases, "_source_files", lambda: [one_line])
    assert bases.apt_mirror() == "http://other.example.invalid/debian"
