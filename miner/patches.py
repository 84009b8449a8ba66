"""Splitting a pull request's unified git diff into the gold patch and the test patch.

`split_patch` cuts `git diff base merge` into one piece per file and sends each piece, verbatim,
to the test patch when the file is a test file and to the gold patch otherwise, so both still
apply with `git apply`, alone or one after the other. `unidiff` reads each piece's metadata
(paths, status, lines added and removed, binary or not).

The pieces themselves are cut at the `diff --git` headers here rather than taken from
`str(PatchedFile)`: unidiff drops the data of a `GIT binary patch` (from `git diff --binary`),
which would leave a binary change that no longer applies, and it rewrites hunk headers. A
piece unidiff cannot parse is described from its own header lines instead (`_describe_raw`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

_TEST_DIRS = {"test", "tests", "testing", "e2e", "fixture", "fixtures", "__tests__"}
_TEST_STEMS = {"test", "tests", "conftest", "fixture", "fixtures"}
_DOC_DIRS = {"doc", "docs", "changelog.d", "changes", "newsfragments"}
_DOC_EXTENSIONS = {".rst", ".md", ".txt", ".adoc", ".markdown"}
_DOC_NAMES = {"changes", "changelog", "readme", "authors", "history", "news", "contributing", "contributors"}
_DOC_PREFIXES = ("license", "licence", "copying", "notice")
_NOT_DOC_TXT = re.compile(r"^(requirements.*|constraints.*|cmakelists)\.txt$", re.IGNORECASE)

#: Source-code extensions and their language.
LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyx": "cython",
    ".pxd": "cython",
    ".pxi": "cython",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".cu": "cuda",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".scala": "scala",
    ".rb": "ruby",
    ".php": "php",
    ".cs": "csharp",
    ".swift": "swift",
    ".m": "objective-c",
    ".f": "fortran",
    ".f90": "fortran",
    ".jl": "julia",
    ".lua": "lua",
    ".pl": "perl",
    ".r": "r",
}


#: The source languages of each task language (a JavaScript task's code may be TypeScript).
TASK_LANGUAGES: dict[str, tuple[str, ...]] = {"python": ("python",), "javascript": ("javascript", "typescript")}
#: Test directories of JavaScript/TypeScript projects only (`spec/` is Python code in some projects).
_JS_TEST_DIRS = {"spec", "specs", "__mocks__"}
_JS_TEST_NAME = re.compile(r"\.(test|spec|e2e-spec)\.[cm]?[jt]sx?$")


def is_test_path(path: str) -> bool:
    """Whether `path` belongs to the tests: it lies under a test directory (test/, tests/, testing/,
    e2e/, fixtures/, __tests__/, test_x/, x_tests/), or it is a source file named like a test
    (test_x.py, x_test.go, foo-test.js, test.py, conftest.py, fixture(s).py, testutils.py); for JavaScript and
    TypeScript also foo.test.ts, foo.spec.js and files under spec/ and __mocks__/.

    A library module named testing.py (flask's `src/flask/testing.py`) is code, and files such as
    requirements/tests.txt or .github/workflows/tests.yaml are configuration: a token rule ("any
    path part starting with test") would move them into the test patch, which the agent never sees.
    "latest.py", "contest.py" and "attestation/x.py" are not test paths.
    """
    parts = PurePosixPath(path.lower()).parts
    if any(_is_test_dir(d) for d in parts[:-1]):
        return True
    is_js = language(path) in TASK_LANGUAGES["javascript"]  # foo.test.ts, foo.spec.js, spec/foo.js, __mocks__/x.js
    if is_js and (_JS_TEST_NAME.search(parts[-1]) or any(d in _JS_TEST_DIRS for d in parts[:-1])):
        return True
    stem = parts[-1].split(".")[0] if parts else ""
    named_like_a_test = (
        stem in _TEST_STEMS
        or stem.startswith(("test_", "test-", "testutil"))
        or stem.endswith(("_test", "-test", "_tests", "-tests"))
    )
    return named_like_a_test and language(path) is not None


def _is_test_dir(name: str) -> bool:
    return name in _TEST_DIRS or name.startswith(("test_", "tests_")) or name.endswith(("_test", "_tests"))


def language(path: str) -> str | None:
    """The programming language of a source file by its extension, None when it is not code."""
    return LANGUAGES.get(PurePosixPath(path).suffix.lower())


def classify(path: str) -> str:
    """ "test", "docs", "code" or "other" (build and CI configuration, data, anything else)."""
    if is_test_path(path):
        return "test"
    p = PurePosixPath(path)
    name = p.name.lower()
    if _NOT_DOC_TXT.match(name):
        return "other"
    if any(part.lower() in _DOC_DIRS for part in p.parts[:-1]):
        return "docs"
    if p.suffix.lower() in _DOC_EXTENSIONS:
        return "docs"
    if language(path) is not None:  # before the names: history.py and license.py are code
        return "code"
    stem = name.split(".", 1)[0]
    if stem in _DOC_NAMES or stem.startswith(_DOC_PREFIXES):
        return "docs"
    return "other"


@dataclass
class FileChange:
    """One file of a diff. `status` is "added", "removed", "modified" or "renamed"."""

    path: str
    kind: str
    language: str | None
    binary: bool
    added: int
    removed: int
    status: str


@dataclass
class PatchSplit:
    """A diff split in two: `gold` (everything but tests) and `tests`, plus every file's change."""

    gold: str
    tests: str
    files: list[FileChange] = field(default_factory=list)

    @property
    def test_files(self) -> list[str]:
        return [f.path for f in self.files if f.kind == "test"]

    @property
    def code_files(self) -> list[str]:
        return [f.path for f in self.files if f.kind == "code"]

    @property
    def doc_files(self) -> list[str]:
        return [f.path for f in self.files if f.kind == "docs"]

    @property
    def binary_files(self) -> list[str]:
        return [f.path for f in self.files if f.binary]

    @property
    def gold_lines(self) -> int:
        """Lines added plus removed over the files of the gold patch."""
        return sum(f.added + f.removed for f in self.files if f.kind != "test")

    @property
    def gold_files(self) -> int:
        """How many files the gold patch changes."""
        return sum(1 for f in self.files if f.kind != "test")


_HEADER = re.compile(r"^diff --git ", re.MULTILINE)
_ESCAPE = re.compile(rb"\\([0-7]{3}|.)")
_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b", b"f": b"\f", b"v": b"\v"}


def _unquote(name: str) -> str:
    """A path as git prints it (C-quoted when it holds special or non-ASCII bytes) -> the path."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        raw = name[1:-1].encode("utf-8")
        raw = _ESCAPE.sub(lambda m: bytes([int(m[1], 8)]) if len(m[1]) == 3 else _ESCAPES.get(m[1], m[1]), raw)
        name = raw.decode("utf-8", errors="replace")
    return name


def _strip_prefix(name: str) -> str | None:
    name = _unquote(name)
    if name == "/dev/null":
        return None
    return name[2:] if name[:2] in ("a/", "b/") else name


def _describe(piece: str) -> tuple[str, str, bool, int, int]:
    """(path, status, binary, added, removed) of one file's piece of a diff, read by unidiff."""
    try:
        files = PatchSet(piece)
    except UnidiffParseError:
        return _describe_raw(piece)
    if len(files) != 1:
        return _describe_raw(piece)
    f = files[0]
    source, target = _strip_prefix(f.source_file or ""), _strip_prefix(f.target_file or "")
    if f.is_added_file:
        status = "added"
    elif f.is_removed_file:
        status = "removed"
    elif f.is_rename:
        status = "renamed"
    else:
        status = "modified"
    path = source if status == "removed" else target
    if not path:
        return _describe_raw(piece)
    binary = f.is_binary_file or "\nGIT binary patch\n" in piece
    return path, status, binary, f.added, f.removed


def _describe_raw(piece: str) -> tuple[str, str, bool, int, int]:
    """The fallback for a piece unidiff cannot read: its git header lines and +/- lines.

    Paths come from `rename to`/`+++`/`---` lines, else from the `diff --git a/X b/X` line (split
    in the middle, which is right whenever both sides name the same path, as they do unless renamed).
    """
    lines = piece.split("\n")
    head = lines[0][len("diff --git ") :]
    half = len(head) // 2
    source, target = _strip_prefix(head[:half]), _strip_prefix(head[half + 1 :])
    status, binary, added, removed, in_hunk = "modified", False, 0, 0, False
    for line in lines[1:]:
        if in_hunk:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
            continue
        if line.startswith("@@"):
            in_hunk = True
        elif line.startswith("new file mode"):
            status = "added"
        elif line.startswith("deleted file mode"):
            status = "removed"
        elif line.startswith("rename from "):
            source, status = _strip_prefix(line[len("rename from ") :]) or source, "renamed"
        elif line.startswith("rename to "):
            target = _strip_prefix(line[len("rename to ") :]) or target
        elif line.startswith("--- "):
            source = _strip_prefix(line[4:].split("\t")[0])
        elif line.startswith("+++ "):
            target = _strip_prefix(line[4:].split("\t")[0])
        elif line.startswith(("Binary files ", "GIT binary patch")):
            binary = True
    path = (source if status == "removed" else target) or source or target or ""
    return path, status, binary, added, removed


def split_patch(diff: str) -> PatchSplit:
    """Split a `git diff` into the gold patch (non-test files) and the test patch, verbatim per file.

    A file is in the test patch when `is_test_path` holds for its path (the new path of a rename,
    the old path of a deletion). Text before the first `diff --git` header is dropped.
    """
    starts = [m.start() for m in _HEADER.finditer(diff)]
    gold: list[str] = []
    tests: list[str] = []
    files: list[FileChange] = []
    for start, end in zip(starts, [*starts[1:], len(diff)], strict=False):
        piece = diff[start:end]
        path, status, binary, added, removed = _describe(piece)
        kind = classify(path)
        files.append(FileChange(path, kind, language(path), binary, added, removed, status))
        (tests if kind == "test" else gold).append(piece)
    return PatchSplit(gold="".join(gold), tests="".join(tests), files=files)
