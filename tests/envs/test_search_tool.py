"""The search tool: grep results as an agent reads them, and every way a search can go wrong.

Most tests run on `LocalSandbox` (the tool's one command run on a temporary
directory); the `docker` tests run it in a real DockerSandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from local_sandbox import LocalSandbox
from swefarm.envs.tools import make_tools
from swefarm.envs.tools.schema import check_arguments
from swefarm.envs.tools.search import LINE_CHARS, SearchTool
from swefarm.sandbox.models import CommandResult


def write(root: str, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = Path(root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


@pytest.fixture
def local(tmp_path):
    sb = LocalSandbox(tmp_path)
    write(
        sb.root,
        {
            "pkg/core.py": "import os\n\ndef cache_get(key):\n    return key\n",
            "pkg/util.py": "def cache_set(key, value):\n    pass\n",
            "README.md": "Use cache_get to read.\n",
            ".git/config": "cache_get in git\n",
            "logo.png": b"\x89PNG\x00cache_get\x00",
        },
    )
    return sb


@pytest.fixture
def search(local):
    return SearchTool(workdir=local.root)


def call(tool, sandbox, **arguments):
    assert check_arguments(tool.spec, arguments) is None  # what the caller checks before a tool runs
    return tool(sandbox, arguments)


def found(tool, sandbox, **arguments) -> list[str]:
    res = call(tool, sandbox, **arguments)
    assert not res.error, res.output
    return res.output.split("\n")


def test_spec_and_make_tools_options():
    tool = make_tools(["search"], names={"search": "grep"}, workdir="/repo", timeout_s=5)["grep"]
    assert isinstance(tool, SearchTool) and tool.workdir == "/repo"
    params = tool.spec["function"]["parameters"]
    assert params["required"] == ["pattern"] and set(params["properties"]) == {"pattern", "path", "include"}


def test_matches_are_path_line_text_relative_to_the_workdir(local, search):
    lines = found(search, local, pattern=r"cache_(get|set)")
    assert sorted(lines) == [
        "README.md:1:Use cache_get to read.",
        "pkg/core.py:3:def cache_get(key):",
        "pkg/util.py:1:def cache_set(key, value):",
    ]  # .git and the binary logo.png are skipped


def test_path_narrows_to_a_directory_or_a_file(local, search):
    assert sorted(found(search, local, pattern="cache", path="pkg")) == [
        "pkg/core.py:3:def cache_get(key):",
        "pkg/util.py:1:def cache_set(key, value):",
    ]
    assert found(search, local, pattern="cache", path=f"{local.root}/pkg/core.py") == [
        "pkg/core.py:3:def cache_get(key):"
    ]
    assert found(search, local, pattern="cache", path="./pkg/../README.md") == ["README.md:1:Use cache_get to read."]


def test_paths_outside_the_workdir_stay_absolute(tmp_path):
    sb = LocalSandbox(tmp_path / "work")
    write(str(tmp_path), {"work/a.py": "x\n", "elsewhere/b.py": "needle\n"})
    search = SearchTool(workdir=sb.root)
    assert found(search, sb, pattern="needle", path="../elsewhere") == [f"{tmp_path}/elsewhere/b.py:1:needle"]


def test_include_glob(local, search):
    assert sorted(found(search, local, pattern="cache", include="*.py")) == [
        "pkg/core.py:3:def cache_get(key):",
        "pkg/util.py:1:def cache_set(key, value):",
    ]
    assert found(search, local, pattern="cache", include="*.md") == ["README.md:1:Use cache_get to read."]
    assert found(search, local, pattern="cache", include="core*") == ["pkg/core.py:3:def cache_get(key):"]
    res = call(search, local, pattern="cache", include="*.rs")
    assert not res.error and res.output == f"No matches for 'cache' in {local.root} in files matching *.rs."


def test_no_match_is_not_an_error(local, search):
    res = call(search, local, pattern="nothing_like_this")
    assert not res.error and res.output == f"No matches for 'nothing_like_this' in {local.root}."
    res = call(search, local, pattern="nothing", path="pkg")
    assert not res.error and res.output == "No matches for 'nothing' in pkg."


@pytest.mark.parametrize("pattern", ["-v", "--help", "-e", "--include=x", "-rf /", "-"])
def test_patterns_starting_with_a_dash_are_patterns(tmp_path, pattern):
    sb = LocalSandbox(tmp_path)
    write(sb.root, {"opts.txt": f"flag {pattern} here\nnothing\n"})
    assert found(SearchTool(workdir=sb.root), sb, pattern=pattern) == [f"opts.txt:1:flag {pattern} here"]


def test_paths_starting_with_a_dash_and_with_spaces(tmp_path):
    sb = LocalSandbox(tmp_path)
    write(sb.root, {"-n/odd.txt": "needle\n", "my dir/a file.txt": "needle too\n"})
    search = SearchTool(workdir=sb.root)
    assert found(search, sb, pattern="needle", path="-n") == ["-n/odd.txt:1:needle"]
    assert found(search, sb, pattern="needle", path="my dir") == ["my dir/a file.txt:1:needle too"]


def test_shell_metacharacters_are_not_run(tmp_path):
    sb = LocalSandbox(tmp_path)
    write(sb.root, {"a.txt": "x\n"})
    search = SearchTool(workdir=sb.root)
    for evil in ["$(touch pwned)", "`touch pwned`", "x'; touch pwned; '", '"; touch pwned; "']:
        call(search, sb, pattern=evil, path=evil, include=evil)
    assert not Path(sb.root, "pwned").exists()


def test_unicode_and_colons_in_names(tmp_path):
    sb = LocalSandbox(tmp_path)
    write(sb.root, {"ünï/a:1:b.txt": "naïve café ☃\n", "crlf.txt": "windows line\r\n"})
    search = SearchTool(workdir=sb.root)
    assert found(search, sb, pattern="café ☃") == ["ünï/a:1:b.txt:1:naïve café ☃"]
    assert found(search, sb, pattern="windows") == ["crlf.txt:1:windows line"]


def test_long_lines_are_cut(tmp_path):
    sb = LocalSandbox(tmp_path)
    write(sb.root, {"min.js": "var needle=1;" + "x" * 100_000 + "\n"})
    lines = found(SearchTool(workdir=sb.root), sb, pattern="needle")
    assert lines == ["min.js:1:var needle=1;" + "x" * (LINE_CHARS - 13) + " [...]"]


def test_results_past_max_results_are_counted_not_shown(tmp_path):
    sb = LocalSandbox(tmp_path)
    write(sb.root, {"many.txt": "".join(f"hit {i}\n" for i in range(1, 251))})
    search = SearchTool(workdir=sb.root, max_results=100)
    lines = found(search, sb, pattern="hit")
    assert lines[:100] == [f"many.txt:{i}:hit {i}" for i in range(1, 101)]
    assert lines[100:] == [
        "[showing the first 100 of 250 matching lines; 150 more. Narrow the pattern, path or include to see them.]"
    ]
    assert found(SearchTool(workdir=sb.root, max_results=250), sb, pattern="hit")[-1] == "many.txt:250:hit 250"


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"pattern": "("}, "The search failed: grep: Unmatched ( or \\("),
        ({"pattern": "a{2,1}"}, "The search failed: grep: Invalid content of \\{\\}"),
        ({"pattern": "x", "path": "no/such/dir"}, "The search failed: grep: no/such/dir: No such file or directory"),
    ],
)
def test_bad_regex_and_missing_path_are_errors(local, search, arguments, expected):
    res = call(search, local, **arguments)
    assert res.error and res.output == expected


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({}, "pattern must be a non-empty"),
        ({"pattern": ""}, "pattern must be a non-empty"),
        ({"pattern": 5}, "pattern must be a non-empty"),
        ({"pattern": "a\0b"}, "without NUL"),
        ({"pattern": "a", "path": "a\0b"}, "without NUL"),
        ({"pattern": "a", "path": 3}, "without NUL"),
    ],
)
def test_bad_arguments_never_raise(local, search, arguments, expected):
    res = search(local, arguments)  # unchecked on purpose: the tool copes with anything
    assert res.error and expected in res.output


def test_a_search_that_runs_too_long_says_so(local, search):
    def slow(cmd, **kwargs):
        return CommandResult(exit_code=124, output="", duration=60.0, timed_out=True, timeout_kind="hard")

    local.run_stateless = slow
    res = call(search, local, pattern="x")
    assert res.error and res.timed_out and "ran past 60 s" in res.output and "narrow it" in res.output


def test_a_pipe_or_device_named_or_met_is_skipped_not_read_until_the_timeout(local):
    """grep reading its own output pipe (/proc/self/fd/1) or a FIFO nobody writes waits forever: an agent's
    search of one must answer at once, and the tool never waits longer than the env's command timeout."""
    import os

    os.mkfifo(Path(local.root, "pkg", "jam"))
    search = make_tools(["search"], workdir=local.root, timeout_s=5)["search"]
    for path in ("/proc/self/fd/1", "pkg/jam", "pkg", "/dev/zero"):
        res = call(search, local, pattern="cache_", path=path)
        assert not res.timed_out, (path, res.output)
    assert found(search, local, pattern="cache_set", path="pkg") == ["pkg/util.py:1:def cache_set(key, value):"]
    assert search.timeout_s == 5 and SearchTool().timeout_s == 60  # never longer than a command may run


# -- the real sandbox ------------------------------------------------------------------
@pytest.mark.docker
def test_search_in_a_real_sandbox(sandbox):
    work = sandbox.config.workdir
    setup = (
        "mkdir -p 'src/my pkg' .git docs && "
        "printf 'def run():\\n    return -1  # -x flag\\n' > 'src/my pkg/mod ü.py' && "
        "printf 'run me\\n' > docs/guide.md && printf 'run\\n' > .git/HEAD && printf 'run\\0bin' > blob.bin && "
        'for i in $(seq 1 30); do echo "run $i"; done > many.txt'
    )
    assert sandbox.run(setup).ok
    search = SearchTool(workdir=work, max_results=5)
    res = call(search, sandbox, pattern="^run", path="docs")
    assert not res.error and res.output == "docs/guide.md:1:run me"
    assert found(search, sandbox, pattern="-x flag") == ["src/my pkg/mod ü.py:2:    return -1  # -x flag"]
    assert found(search, sandbox, pattern="def \\w+\\(", include="*.py") == ["src/my pkg/mod ü.py:1:def run():"]
    lines = found(search, sandbox, pattern="run [0-9]+$", path=work)
    assert lines[:5] == [f"many.txt:{i}:run {i}" for i in range(1, 6)]
    assert (
        lines[5]
        == "[showing the first 5 of 30 matching lines; 25 more. Narrow the pattern, path or include to see them.]"
    )
    res = call(search, sandbox, pattern="zzz")
    assert not res.error and res.output == f"No matches for 'zzz' in {work}."
    res = call(search, sandbox, pattern="[")
    assert res.error and res.output.startswith("The search failed: grep: ")
    res = call(search, sandbox, pattern="x", path="missing")
    assert res.error and res.output == "The search failed: grep: missing: No such file or directory"


@pytest.mark.docker
def test_unreadable_files_do_not_hide_other_matches(sandbox):
    assert sandbox.run("mkdir locked && echo needle > locked/a && chmod 000 locked && echo needle > open.txt").ok
    res = call(SearchTool(workdir=sandbox.config.workdir), sandbox, pattern="needle")
    assert not res.error
    assert res.output.split("\n")[0] == "open.txt:1:needle"
    assert "[grep also said: grep: locked: Permission denied]" in res.output
