"""Which licence a repository is under, read from git objects, and whether it is permissive.

`license_at` reads the licence file at the top of a commit's tree (no checkout) and recognises
it by its characteristic phrases (`spdx_from_text`); when there is none it falls back to the
packaging metadata: `license` in pyproject.toml, or a `License ::` trove classifier.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from swefarm.harness.repos import git

PERMISSIVE: frozenset[str] = frozenset(
    {
        "MIT",
        "MIT-0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "Apache-2.0",
        "ISC",
        "0BSD",
        "Unlicense",
        "PSF-2.0",
        "Python-2.0",
        "Zlib",
        "BSL-1.0",
        "CC0-1.0",
    }
)

_KNOWN = PERMISSIVE | {
    "GPL-2.0",
    "GPL-3.0",
    "LGPL-2.0",
    "LGPL-2.1",
    "LGPL-3.0",
    "AGPL-3.0",
    "MPL-1.1",
    "MPL-2.0",
    "BSD-4-Clause",
    "EPL-2.0",
    "NCSA",
}
_CANONICAL = {s.lower(): s for s in _KNOWN}


def _bsd(text: str) -> str:
    if "all advertising materials mentioning features" in text:
        return "BSD-4-Clause"
    if "neither the name" in text or "may not be used to endorse or promote" in text:
        return "BSD-3-Clause"
    return "BSD-2-Clause"


def _mit(text: str) -> str | None:
    if "shall be included in all copies" in text or "this permission notice shall be included" in text:
        return "MIT"
    if "subject to the following conditions" in text:
        return None  # an MIT-like grant with other conditions (NCSA, X11 variants...)
    return "MIT-0"


#: (pattern over the normalised text, SPDX id or a function of (match, text) -> id)
_SIGNATURES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"gnu affero general public license,? version 3"), "AGPL-3.0"),
    (
        re.compile(r"gnu lesser general public license,? version (2\.1|3)"),
        lambda m, t: {"3": "LGPL-3.0"}.get(m[1], "LGPL-2.1"),
    ),
    (re.compile(r"gnu library general public license,? version 2"), "LGPL-2.0"),
    (re.compile(r"gnu general public license,? version ([23])"), lambda m, t: f"GPL-{m[1]}.0"),
    (re.compile(r"mozilla public license,? (?:version |v\. ?)(\d\.\d)"), lambda m, t: f"MPL-{m[1]}"),
    (re.compile(r"apache license,? version 2\.0"), "Apache-2.0"),
    (re.compile(r"boost software license\W+version 1\.0"), "BSL-1.0"),
    (re.compile(r"\bcc0 1\.0\b"), "CC0-1.0"),
    (re.compile(r"this is free and unencumbered software released into the public domain"), "Unlicense"),
    (
        re.compile(
            r"python software foundation license,? version 2"
            r"|this license agreement is between the python software foundation"
        ),
        "PSF-2.0",
    ),
    (re.compile(r"altered source versions must be plainly marked as such"), "Zlib"),
    (re.compile(r"university of illinois/ncsa open source license"), "NCSA"),
    (
        re.compile(r"permission is hereby granted, free of charge, to any person obtaining a copy"),
        lambda m, t: _mit(t),
    ),
    (
        re.compile(r"permission to use, copy, modify,? (?:and/or |and )?distribute this software for any purpose"),
        lambda m, t: "ISC" if "provided that the above copyright notice" in t else "0BSD",
    ),
    (
        re.compile(r"redistribution and use in source and binary forms, with or without modification, are permitted"),
        lambda m, t: _bsd(t),
    ),
    (re.compile(r"spdx-license-identifier: ?([\w.+-]+)"), lambda m, t: _CANONICAL.get(m[1], m[1])),
]


def _normalise(text: str) -> str:
    """Lowercase, comment markers dropped, every run of whitespace one space."""
    return " ".join(re.sub(r"(?m)^[ \t]*(?:#|//|\*|;)+", " ", text.lower()).split())


def spdx_from_text(text: str) -> str | None:
    """The SPDX id of a licence text, recognised by its characteristic phrases; None if unknown.

    When a file holds several licences (a project's own and those of vendored code), the one
    whose phrase comes first wins.
    """
    norm = _normalise(text)
    best: tuple[int, str] | None = None
    for pattern, spdx in _SIGNATURES:
        m = pattern.search(norm)
        if m and (best is None or m.start() < best[0]):
            found = spdx if isinstance(spdx, str) else spdx(m, norm)
            if found:
                best = (m.start(), found)
    return best[1] if best else None


_ALIASES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^(the )?mit( license)?$|^expat$"), "MIT"),
    (re.compile(r"\bmit no attribution\b"), "MIT-0"),
    (re.compile(r"\b(2|two)[- ]clause\b|\bsimplified bsd\b|\bfreebsd\b"), "BSD-2-Clause"),
    (re.compile(r"^(new |modified |revised )?bsd( license)?$|\b(3|three)[- ]clause\b|\bbsd[- ]?3\b"), "BSD-3-Clause"),
    (re.compile(r"\bapache\b"), "Apache-2.0"),
    (re.compile(r"^isc( license)?( \(iscl\))?$"), "ISC"),
    (re.compile(r"^psf|python software foundation"), "PSF-2.0"),
    (re.compile(r"\bunlicense\b"), "Unlicense"),
    (re.compile(r"\bzlib\b"), "Zlib"),
    (re.compile(r"\bboost\b|\bbsl-1\.0\b"), "BSL-1.0"),
    (re.compile(r"\bcc0\b"), "CC0-1.0"),
    (re.compile(r"\baffero\b|\bagpl"), "AGPL-3.0"),
    (re.compile(r"\b(lesser|library)\b.*\bv?3|\blgpl-?v?3"), "LGPL-3.0"),
    (re.compile(r"\b(lesser|library)\b|\blgpl"), "LGPL-2.1"),
    (re.compile(r"\bgpl-?v?3|general public license v3"), "GPL-3.0"),
    (re.compile(r"\bgpl-?v?2|general public license v2"), "GPL-2.0"),
    (re.compile(r"\bmozilla\b|\bmpl\b"), "MPL-2.0"),
]


def _spdx_from_name(name: str) -> str | None:
    """A licence as packaging metadata names it (an SPDX expression, "BSD License", "Apache 2.0"...)."""
    name = " ".join(name.split())
    if not name:
        return None
    ids = [t for t in re.split(r"[\s()]+", name) if t and t.upper() not in ("OR", "AND", "WITH")]
    if ids and all(t.lower() in _CANONICAL for t in ids):
        return re.sub(r"[\w.+-]+", lambda m: _CANONICAL.get(m[0].lower(), m[0].upper()), name)
    if len(name) > 200:
        return spdx_from_text(name)
    low = name.lower()
    for pattern, spdx in _ALIASES:
        if pattern.search(low):
            return spdx
    return None


_CLASSIFIER = re.compile(r"License ::(?: OSI Approved ::)? ([^\"'\n]+)")


def _from_classifiers(text: str) -> str | None:
    for m in _CLASSIFIER.finditer(text):
        spdx = _spdx_from_name(m[1].strip().removesuffix(" License").strip())
        if spdx:
            return spdx
    return None


_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying)([.\-_].*)?$", re.IGNORECASE)
_SETUP_LICENSE = re.compile(r"""(?m)^\s*license\s*[=:]\s*["']?([^"'\n#]+)""")


def _blob(git_dir: Path, commit: str, path: str) -> str | None:
    """`commit:path` as text (undecodable bytes replaced), None when there is no such file."""
    done = subprocess.run(["git", "cat-file", "blob", f"{commit}:{path}"], cwd=git_dir, capture_output=True)
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def _top_files(git_dir: Path, commit: str) -> list[str]:
    """Names of the files (blobs) at the top of `commit`'s tree."""
    names = []
    for entry in git("ls-tree", "-z", commit, cwd=git_dir).split("\0"):
        meta, _, name = entry.partition("\t")
        if name and meta.split()[1:2] == ["blob"]:
            names.append(name)
    return names


def _license_file_order(name: str) -> tuple[int, int, str]:
    # LICENSE before LICENCE before COPYING; the bare name and .txt/.md/.rst before LICENSE-MIT and the like
    upper = name.upper()
    family = 0 if upper.startswith("LICENSE") else 1 if upper.startswith("LICENCE") else 2
    plain = 0 if re.fullmatch(r"(LICEN[CS]E|COPYING)(\.(TXT|MD|RST))?", upper) else 1
    return family, plain, name


def _from_pyproject(text: str, read) -> str | None:
    """`license` of [project] (or [tool.poetry]): a string, `{text = ...}` or `{file = ...}` read with `read`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    for lic in (data.get("project", {}).get("license"), data.get("tool", {}).get("poetry", {}).get("license")):
        spdx = None
        if isinstance(lic, str):
            spdx = _spdx_from_name(lic)
        elif isinstance(lic, dict) and isinstance(lic.get("text"), str):
            spdx = _spdx_from_name(lic["text"]) or spdx_from_text(lic["text"])
        elif isinstance(lic, dict) and isinstance(lic.get("file"), str):
            spdx = spdx_from_text(read(lic["file"]) or "")
        if spdx:
            return spdx
    return None


def license_at(git_dir: Path, commit: str) -> str | None:
    """The SPDX id of the licence of `commit`'s tree in `git_dir` (bare or not), None if unknown.

    Reads the top-level licence file (LICENSE*, LICENCE*, COPYING*); when none is recognised,
    `license` in pyproject.toml (an SPDX expression, `{text = ...}` or `{file = ...}`), then a
    `License ::` classifier in pyproject.toml, setup.cfg or setup.py, then a `license =` name in
    setup.cfg or setup.py. A commit that is not in the repository raises `RepoError`.
    """
    names = _top_files(git_dir, commit)
    for name in sorted((n for n in names if _LICENSE_FILE.match(n)), key=_license_file_order):
        spdx = spdx_from_text(_blob(git_dir, commit, name) or "")
        if spdx:
            return spdx
    meta = {n: _blob(git_dir, commit, n) or "" for n in ("pyproject.toml", "setup.cfg", "setup.py") if n in names}
    spdx = _from_pyproject(meta.get("pyproject.toml", ""), lambda path: _blob(git_dir, commit, path))
    if spdx:
        return spdx
    for text in meta.values():
        spdx = _from_classifiers(text)
        if spdx:
            return spdx
    for name in ("setup.cfg", "setup.py"):
        for m in _SETUP_LICENSE.finditer(meta.get(name, "")):
            spdx = _spdx_from_name(m[1].strip())
            if spdx:
                return spdx
    return None


def _normal_id(spdx: str) -> str:
    return spdx.strip().lower().removesuffix("-only").removesuffix("-or-later").removesuffix("+")


def is_permissive(spdx: str | None, allowed: frozenset[str] | set[str] | list[str] = PERMISSIVE) -> bool:
    """Whether `spdx` (an id or a simple expression) is among `allowed`, permissive ids by default.

    `A OR B` passes when either side does, `A AND B` when both do; `WITH` exceptions are ignored.
    """
    if not spdx:
        return False
    ok = {_normal_id(a) for a in allowed}
    expr = re.sub(r"\s+WITH\s+[\w.+-]+", "", spdx.replace("(", " ").replace(")", " "), flags=re.IGNORECASE)
    alternatives = re.split(r"\s+OR\s+", expr.strip(), flags=re.IGNORECASE)
    return any(
        all(_normal_id(term) in ok for term in re.split(r"\s+AND\s+", alt.strip(), flags=re.IGNORECASE))
        for alt in alternatives
    )
