"""Licence recognition from short characteristic excerpts, and from a real git repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from swefarm.harness.repos import RepoError, git
from swefarm.miner.license import PERMISSIVE, is_permissive, license_at, spdx_from_text

# A few characteristic lines of each licence (not the whole texts).
MIT = """MIT License

Copyright (c) 2020 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
...
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
"""
MIT_0 = """Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction ... and to permit persons to whom the Software is furnished to do so.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND
"""
BSD_INTRO = """Copyright (c) 2015, Someone
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation.
"""
BSD_2 = BSD_INTRO + '\nTHIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"\n'
BSD_3 = BSD_INTRO + (
    "3. Neither the name of the copyright holder nor the names of its\n"
    "   contributors may be used to endorse or promote products derived from\n"
    "   this software without specific prior written permission.\n"
)
BSD_3_AUTHOR = BSD_INTRO + "3. The name of the author may not be used to endorse or promote products\n"
BSD_4 = BSD_3 + "4. All advertising materials mentioning features or use of this software\n"
APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""
APACHE_NOTICE = 'Licensed under the Apache License, Version 2.0 (the "License");\n'
ISC = """ISC License

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
"""
ZERO_BSD = """Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
"""
GPL_2 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 2, June 1991

 Copyright (C) 1989, 1991 Free Software Foundation, Inc.
"""
GPL_3 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007
...
  13. Use with the GNU Affero General Public License.
"""
LGPL_21 = """                  GNU LESSER GENERAL PUBLIC LICENSE
                       Version 2.1, February 1999
...
the GNU General Public License, version 2
"""
LGPL_3 = """                   GNU LESSER GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

  This version of the GNU Lesser General Public License incorporates
the terms and conditions of version 3 of the GNU General Public
License, supplemented by the additional permissions listed below.
"""
AGPL_3 = """                    GNU AFFERO GENERAL PUBLIC LICENSE
                       Version 3, 19 November 2007
...
  13. Remote Network Interaction; Use with the GNU General Public License.
"""
MPL_2 = """Mozilla Public License Version 2.0
==================================

1. Definitions
"""
UNLICENSE = """This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software
"""
PSF = """PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2
--------------------------------------------

1. This LICENSE AGREEMENT is between the Python Software Foundation
("PSF"), and the Individual or Organization ("Licensee")
"""
BSL = """Boost Software License - Version 1.0 - August 17th, 2003

Permission is hereby granted, free of charge, to any person or organization
"""
CC0 = """Creative Commons Legal Code

CC0 1.0 Universal

    CREATIVE COMMONS CORPORATION IS NOT A LAW FIRM
"""
ZLIB = """This software is provided 'as-is', without any express or implied
warranty.
...
2. Altered source versions must be plainly marked as such, and must not be
   misrepresented as being the original software.
"""


@pytest.mark.parametrize(
    "text,spdx",
    [
        (MIT, "MIT"),
        (MIT_0, "MIT-0"),
        (BSD_2, "BSD-2-Clause"),
        (BSD_3, "BSD-3-Clause"),
        (BSD_3_AUTHOR, "BSD-3-Clause"),
        (BSD_4, "BSD-4-Clause"),
        (APACHE, "Apache-2.0"),
        (APACHE_NOTICE, "Apache-2.0"),
        (ISC, "ISC"),
        (ZERO_BSD, "0BSD"),
        (GPL_2, "GPL-2.0"),
        (GPL_3, "GPL-3.0"),
        (LGPL_21, "LGPL-2.1"),
        (LGPL_3, "LGPL-3.0"),
        (AGPL_3, "AGPL-3.0"),
        (MPL_2, "MPL-2.0"),
        (UNLICENSE, "Unlicense"),
        (PSF, "PSF-2.0"),
        (BSL, "BSL-1.0"),
        (CC0, "CC0-1.0"),
        (ZLIB, "Zlib"),
        ("# SPDX-License-Identifier: MIT\n", "MIT"),
        ("SPDX-License-Identifier: apache-2.0", "Apache-2.0"),
    ],
)
def test_spdx_from_text(text, spdx):
    assert spdx_from_text(text) == spdx


def test_spdx_from_text_ignores_layout_and_case():
    wrapped = "permission IS hereby granted,\n   free of charge, to any\tperson obtaining a copy"
    assert spdx_from_text(wrapped + "\nshall be included in all copies or substantial portions") == "MIT"
    commented = "\n".join("# " + line for line in BSD_3.splitlines())
    assert spdx_from_text(commented) == "BSD-3-Clause"


def test_first_licence_in_the_file_wins():
    assert spdx_from_text(MIT + "\n\nBundled code:\n" + APACHE) == "MIT"
    assert spdx_from_text(APACHE + "\n\nBundled code:\n" + BSD_3) == "Apache-2.0"


def test_mit_like_grant_with_other_conditions_is_not_mit():
    ncsa = MIT_0.replace("furnished to do so.", "subject to the following conditions:\n* Redistributions ...")
    assert spdx_from_text(ncsa) is None
    assert spdx_from_text("University of Illinois/NCSA Open Source License\n" + ncsa) == "NCSA"


@pytest.mark.parametrize("text", ["", "All rights reserved.", "Proprietary. Do not copy.", "See the website."])
def test_unknown_text(text):
    assert spdx_from_text(text) is None


# --- is_permissive ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spdx", sorted(PERMISSIVE))
def test_permissive_ids(spdx):
    assert is_permissive(spdx)


@pytest.mark.parametrize(
    "spdx", [None, "", "GPL-3.0", "GPL-2.0-only", "LGPL-2.1", "AGPL-3.0", "MPL-2.0", "BSD-4-Clause", "Proprietary"]
)
def test_not_permissive(spdx):
    assert not is_permissive(spdx)


def test_permissive_expressions():
    assert is_permissive("mit")
    assert is_permissive("MIT OR Apache-2.0")
    assert is_permissive("GPL-3.0 OR MIT")
    assert is_permissive("(MIT AND BSD-3-Clause)")
    assert not is_permissive("MIT AND GPL-3.0")
    assert is_permissive("Apache-2.0 WITH LLVM-exception")
    assert is_permissive("GPL-3.0-or-later", allowed=["GPL-3.0"])
    assert not is_permissive("MIT", allowed=["Apache-2.0"])


# --- license_at on a real repository ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_global_git_config(monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@localhost",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@localhost",
}


@pytest.fixture
def repo(tmp_path: Path):
    """A function that commits a whole tree (exactly these files) and returns the commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=root)

    def commit(files: dict[str, str | bytes]) -> str:
        git("rm", "-r", "--quiet", "--cached", "--ignore-unmatch", ".", cwd=root)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            git("add", "--force", name, cwd=root)
        git("commit", "--quiet", "--allow-empty", "-m", "c", cwd=root, env=IDENTITY)
        return git("rev-parse", "HEAD", cwd=root).strip()

    commit.root = root
    return commit


@pytest.mark.parametrize("name", ["LICENSE", "LICENSE.txt", "LICENSE.rst", "LICENSE.md", "LICENCE", "COPYING"])
def test_license_file_names(repo, name):
    c = repo({name: BSD_3, "src/m.py": "x = 1\n"})
    assert license_at(repo.root, c) == "BSD-3-Clause"


def test_reads_the_given_commit_not_the_work_tree(repo):
    first = repo({"LICENSE": GPL_3})
    second = repo({"LICENSE": MIT})
    (repo.root / "LICENSE").write_text(APACHE)  # uncommitted: ignored
    assert license_at(repo.root, first) == "GPL-3.0"
    assert license_at(repo.root, second) == "MIT"
    assert license_at(repo.root, "HEAD~1") == "GPL-3.0"


def test_bare_clone(repo, tmp_path):
    c = repo({"LICENSE": ISC})
    bare = tmp_path / "bare.git"
    git("clone", "--quiet", "--bare", str(repo.root), str(bare))
    assert license_at(bare, c) == "ISC"


def test_license_file_preference_and_unrecognised_files(repo):
    assert license_at(repo.root, repo({"LICENSE": MIT, "COPYING": GPL_3})) == "MIT"
    assert license_at(repo.root, repo({"LICENSE": "Custom terms.", "COPYING": GPL_2})) == "GPL-2.0"
    assert license_at(repo.root, repo({"LICENSE-APACHE": APACHE, "LICENSE-MIT": MIT})) == "Apache-2.0"


def test_only_top_level_files_count(repo):
    assert license_at(repo.root, repo({"vendor/LICENSE": GPL_3, "README.md": "hi"})) is None
    assert license_at(repo.root, repo({"LICENSE/README": MIT})) is None


def test_non_utf8_licence_file(repo):
    c = repo({"LICENSE": ("Copyright \xa9 2010 J\xfcrgen\n\n" + MIT).encode("latin-1")})
    assert license_at(repo.root, c) == "MIT"


@pytest.mark.parametrize(
    "pyproject,spdx",
    [
        ('[project]\nname = "p"\nlicense = "MIT"\n', "MIT"),
        ('[project]\nname = "p"\nlicense = "apache-2.0"\n', "Apache-2.0"),
        ('[project]\nname = "p"\nlicense = "MIT OR Apache-2.0"\n', "MIT OR Apache-2.0"),
        ('[project]\nname = "p"\nlicense = {text = "BSD-3-Clause"}\n', "BSD-3-Clause"),
        ('[project]\nname = "p"\nlicense = {text = "BSD License"}\n', "BSD-3-Clause"),
        ('[project]\nname = "p"\nlicense = {text = "GPLv3"}\n', "GPL-3.0"),
        ('[project]\nname = "p"\nlicense = {file = "docs/LICENSE.txt"}\n', "ISC"),
        ('[tool.poetry]\nname = "p"\nlicense = "MIT"\n', "MIT"),
        (
            '[project]\nname = "p"\nclassifiers = [\n  "License :: OSI Approved :: Apache Software License",\n]\n',
            "Apache-2.0",
        ),
        ('[project]\nname = "p"\n', None),
        ("this is [not toml", None),
    ],
)
def test_pyproject_fallback(repo, pyproject, spdx):
    c = repo({"pyproject.toml": pyproject, "docs/LICENSE.txt": ISC})
    assert license_at(repo.root, c) == spdx


@pytest.mark.parametrize(
    "classifier,spdx",
    [
        ("License :: OSI Approved :: MIT License", "MIT"),
        ("License :: OSI Approved :: BSD License", "BSD-3-Clause"),
        ("License :: OSI Approved :: Apache Software License", "Apache-2.0"),
        ("License :: OSI Approved :: ISC License (ISCL)", "ISC"),
        ("License :: OSI Approved :: Python Software Foundation License", "PSF-2.0"),
        ("License :: OSI Approved :: The Unlicense (Unlicense)", "Unlicense"),
        ("License :: OSI Approved :: zlib/libpng License", "Zlib"),
        ("License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"),
        ("License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
        ("License :: OSI Approved :: GNU General Public License v3 (GPLv3)", "GPL-3.0"),
        ("License :: OSI Approved :: GNU General Public License v2 (GPLv2)", "GPL-2.0"),
        ("License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0"),
        ("License :: OSI Approved :: GNU Affero General Public License v3", "AGPL-3.0"),
        ("License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
        ("License :: Other/Proprietary License", None),
    ],
)
def test_setup_cfg_classifiers(repo, classifier, spdx):
    cfg = f"[metadata]\nname = p\nclassifiers =\n    Programming Language :: Python :: 3\n    {classifier}\n"
    assert license_at(repo.root, repo({"setup.cfg": cfg})) == spdx


def test_setup_py_classifier_and_license_argument(repo):
    setup_py = (
        'setup(\n    name="p",\n    classifiers=[\n        "License :: OSI Approved :: MIT License",\n    ],\n)\n'
    )
    assert license_at(repo.root, repo({"setup.py": setup_py})) == "MIT"
    assert license_at(repo.root, repo({"setup.py": 'setup(name="p", \n    license="BSD",\n)\n'})) == "BSD-3-Clause"
    assert license_at(repo.root, repo({"setup.cfg": "[metadata]\nlicense = Apache 2.0\n"})) == "Apache-2.0"
    assert license_at(repo.root, repo({"setup.py": "setup(license=about['license'])\n"})) is None


def test_licence_file_wins_over_metadata(repo):
    c = repo({"LICENSE": MIT, "pyproject.toml": '[project]\nname = "p"\nlicense = "GPL-3.0"\n'})
    assert license_at(repo.root, c) == "MIT"


def test_nothing_known(repo):
    assert license_at(repo.root, repo({"README.md": "hello"})) is None
    assert license_at(repo.root, repo({})) is None


def test_unknown_commit_raises(repo):
    repo({"LICENSE": MIT})
    with pytest.raises(RepoError):
        license_at(repo.root, "0" * 40)
