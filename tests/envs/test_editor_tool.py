"""The str_replace_editor tool: what an agent sees for every command and every mistake.

Most tests run on `LocalSandbox`, the few Sandbox calls the tool makes done on a
temporary directory (this host runs tests as root, so permission errors are
checked in the real sandbox, whose commands run as an unprivileged user).
The `docker` tests run the same flows in a real DockerSandbox.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from local_sandbox import LocalSandbox
from swefarm.envs.tools import make_tools
from swefarm.envs.tools.editor import EditorTool
from swefarm.envs.tools.schema import check_arguments

SOURCE = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"


@pytest.fixture
def local(tmp_path):
    return LocalSandbox(tmp_path)


@pytest.fixture
def editor(local):
    return EditorTool(workdir=local.root)


def call(tool, sandbox, **arguments):
    assert check_arguments(tool.spec, arguments) is None  # what the caller checks before a tool runs
    return tool(sandbox, arguments)


def ok(tool, sandbox, **arguments) -> str:
    res = call(tool, sandbox, **arguments)
    assert not res.error, res.output
    return res.output


def refused(tool, sandbox, **arguments) -> str:
    res = call(tool, sandbox, **arguments)
    assert res.error, res.output
    return res.output


def numbered(*rows: tuple[int, str]) -> str:
    return "\n".join(f"{n:6}\t{text}" for n, text in rows)


# -- spec and construction -------------------------------------------------------------
def test_spec_and_make_tools_options(tmp_path):
    tools = make_tools(["editor"], names={"editor": "edit"}, workdir="/repo", timeout_s=5)
    tool = tools["edit"]
    assert isinstance(tool, EditorTool) and tool.workdir == "/repo"
    fn = tool.spec["function"]
    assert fn["name"] == "edit" and fn["parameters"]["required"] == ["command", "path"]
    assert fn["parameters"]["properties"]["command"]["enum"] == ["view", "create", "str_replace", "insert", "undo_edit"]
    assert set(fn["parameters"]["properties"]) == {
        "command",
        "path",
        "file_text",
        "old_str",
        "new_str",
        "insert_line",
        "view_range",
    }
    assert "/repo" in fn["description"]


# -- view ------------------------------------------------------------------------------
def test_view_numbers_lines_like_cat_n(local, editor):
    Path(local.root, "m.py").write_text(SOURCE)
    out = ok(editor, local, command="view", path="m.py")
    rows = [(i, line) for i, line in enumerate(SOURCE.split("\n")[:-1], 1)]
    assert out == f"Here's the result of running `cat -n` on {local.root}/m.py:\n" + numbered(*rows)
    assert "     1\tdef f():" in out and "     6\t    return 1" in out


def test_view_range_picks_lines(local, editor):
    Path(local.root, "m.py").write_text(SOURCE)
    out = ok(editor, local, command="view", path="m.py", view_range=[2, 4])
    assert out.split("\n", 1)[1] == numbered((2, "    return 1"), (3, ""), (4, ""))
    out = ok(editor, local, command="view", path=f"{local.root}/m.py", view_range=[5, -1])
    assert out.split("\n", 1)[1] == numbered((5, "def g():"), (6, "    return 1"))
    out = ok(editor, local, command="view", path="m.py", view_range=[6, 6])
    assert out.split("\n", 1)[1] == numbered((6, "    return 1"))


@pytest.mark.parametrize(
    "view_range, expected",
    [
        ([0, 3], "start must be between 1 and 6"),
        ([7, -1], "start must be between 1 and 6"),
        ([4, 2], "end must be between 4 and 6"),
        ([1, 7], "end must be between 1 and 6"),
        ([1, -2], "end must be between 1 and 6"),
        ([1], "must be two integers"),
        ([1, 2, 3], "must be two integers"),
        (["1", "2"], "must be two integers"),
        ([1.5, 2], "must be two integers"),
        ([True, 2], "must be two integers"),
    ],
)
def test_view_range_errors(local, editor, view_range, expected):
    Path(local.root, "m.py").write_text(SOURCE)
    assert expected in refused(editor, local, command="view", path="m.py", view_range=view_range)


def test_view_of_a_long_file_is_cut_with_a_note(local):
    editor = EditorTool(workdir=local.root, max_view_chars=200)
    Path(local.root, "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    out = ok(editor, local, command="view", path="long.txt")
    body = out.split("\n")[1:]
    assert body[0] == "     1\tline 1"
    assert body[-1].startswith("<response clipped: showing lines 1-") and "of 100; use view_range" in body[-1]
    assert len("\n".join(body[:-1])) <= 200
    last_shown = int(body[-2].split("\t")[0])
    assert f"lines 1-{last_shown} of 100" in body[-1]
    out = ok(editor, local, command="view", path="long.txt", view_range=[90, -1])
    assert "clipped" not in out and out.endswith("   100\tline 100")


def test_one_line_longer_than_the_view_budget_is_cut(local):
    editor = EditorTool(workdir=local.root, max_view_chars=100)
    Path(local.root, "min.js").write_text("x" * 5000 + "\nshort\n")
    out = ok(editor, local, command="view", path="min.js")
    assert "     1\t" + "x" * 90 in out and "[line cut]" in out and "showing lines 1-1 of 2" in out
    assert len(out.split("\n")[1]) < 120


def test_view_empty_file(local, editor):
    Path(local.root, "empty.py").write_text("")
    assert ok(editor, local, command="view", path="empty.py") == f"{local.root}/empty.py is empty."


def test_view_directory_lists_two_levels_without_hidden(local, editor):
    root = Path(local.root)
    for rel in [
        "a.py",
        "pkg/b.py",
        "pkg/sub/deep.py",
        ".git/config",
        "pkg/.hidden.py",
        "pkg/.cache/x",
        "my dir/c d.txt",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    out = ok(editor, local, command="view", path=".")
    header, *entries = out.split("\n")
    assert header == f"Here are the files and directories up to 2 levels deep in {local.root}, excluding hidden items:"
    assert sorted(entries) == sorted(
        f"{local.root}/{rel}" for rel in ["a.py", "pkg/", "pkg/b.py", "pkg/sub/", "my dir/", "my dir/c d.txt"]
    )
    assert ".git" not in out and ".hidden" not in out and ".cache" not in out and "deep.py" not in out
    out = ok(editor, local, command="view", path="pkg")  # a subdirectory: two levels below it
    assert f"{local.root}/pkg/sub/deep.py" in out
    (root / ".hidden_dir").mkdir()
    (root / ".hidden_dir" / "f.py").write_text("x")
    assert f"{local.root}/.hidden_dir/f.py" in ok(editor, local, command="view", path=".hidden_dir")


def test_view_directory_listing_is_cut_with_a_note(local):
    editor = EditorTool(workdir=local.root, max_view_chars=300)
    for i in range(50):
        Path(local.root, f"file_{i:02}.py").write_text("x")
    out = ok(editor, local, command="view", path=local.root)
    assert out.split("\n")[-1].startswith("<response clipped: ") and "of 50 entries shown" in out
    assert len("\n".join(out.split("\n")[1:-1])) <= 300


def test_view_directory_errors(local, editor):
    Path(local.root, "empty").mkdir()
    assert ok(editor, local, command="view", path="empty") == f"{local.root}/empty is an empty directory."
    assert "view_range works only on files" in refused(editor, local, command="view", path="empty", view_range=[1, 2])


def test_view_missing_path(local, editor):
    out = refused(editor, local, command="view", path="nope/missing.py")
    assert out == f"The path {local.root}/nope/missing.py does not exist. Check it, or use create to make a new file."


# -- create ----------------------------------------------------------------------------
def test_create_makes_parents_and_refuses_to_overwrite(local, editor):
    out = ok(editor, local, command="create", path="new/pkg/mod.py", file_text=SOURCE)
    assert out == f"File created successfully at: {local.root}/new/pkg/mod.py"
    assert Path(local.root, "new/pkg/mod.py").read_text() == SOURCE
    out = refused(editor, local, command="create", path="new/pkg/mod.py", file_text="other")
    assert "already exists" in out and "use str_replace to change it" in out
    assert Path(local.root, "new/pkg/mod.py").read_text() == SOURCE
    ok(editor, local, command="create", path="empty.txt", file_text="")
    assert Path(local.root, "empty.txt").read_bytes() == b""


def test_create_errors(local, editor):
    Path(local.root, "dir").mkdir()
    Path(local.root, "plain.txt").write_text("x")
    assert "create needs file_text" in refused(editor, local, command="create", path="x.py")
    assert "is a directory" in refused(editor, local, command="create", path="dir", file_text="x")
    out = refused(editor, local, command="create", path="plain.txt/child.py", file_text="x")
    assert out == f"Cannot access {local.root}/plain.txt/child.py: Not a directory."
    small = EditorTool(workdir=local.root, max_file_bytes=10)
    assert "larger than the 10 bytes" in refused(small, local, command="create", path="big.txt", file_text="y" * 11)
    assert not Path(local.root, "big.txt").exists()


# -- str_replace -----------------------------------------------------------------------
def test_str_replace_shows_a_numbered_snippet(local, editor):
    text = "".join(f"line {i}\n" for i in range(1, 21))
    Path(local.root, "f.txt").write_text(text)
    out = ok(editor, local, command="str_replace", path="f.txt", old_str="line 10\n", new_str="ten\nTEN\n")
    assert Path(local.root, "f.txt").read_text() == text.replace("line 10\n", "ten\nTEN\n")
    path = f"{local.root}/f.txt"
    assert out == (
        f"The file {path} has been edited. Here's the result of running `cat -n` on a snippet of {path}:\n"
        + numbered(*[(i, f"line {i}") for i in range(6, 10)], (10, "ten"), (11, "TEN"))
        + "\n"
        + numbered(*[(i + 1, f"line {i}") for i in range(11, 15)])
        + "\nReview the changes and make sure they are as expected. Edit the file again if necessary."
    )


def test_str_replace_not_found_and_ambiguous(local, editor):
    Path(local.root, "m.py").write_text(SOURCE)
    out = refused(editor, local, command="str_replace", path="m.py", old_str="return 2", new_str="x")
    assert "did not appear verbatim" in out
    out = refused(editor, local, command="str_replace", path="m.py", old_str="  return 1", new_str="  return 3")
    assert "occurs 2 times" in out and "starting on lines 2, 6" in out
    assert "overlap" not in out
    Path(local.root, "o.txt").write_text("aaa\n")
    out = refused(editor, local, command="str_replace", path="o.txt", old_str="aa", new_str="b")
    assert "occurs 2 times" in out and "lines 1, 1" in out
    assert Path(local.root, "m.py").read_text() == SOURCE and Path(local.root, "o.txt").read_text() == "aaa\n"
    # whitespace counts: a tab is not four spaces
    assert "did not appear verbatim" in refused(editor, local, command="str_replace", path="m.py", old_str="\treturn 1")


def test_str_replace_argument_errors(local, editor):
    Path(local.root, "m.py").write_text(SOURCE)
    assert "needs old_str" in refused(editor, local, command="str_replace", path="m.py", new_str="x")
    assert "needs old_str" in refused(editor, local, command="str_replace", path="m.py", old_str="")
    out = refused(editor, local, command="str_replace", path="m.py", old_str="def f", new_str="def f")
    assert "the same" in out
    assert "does not exist" in refused(editor, local, command="str_replace", path="no.py", old_str="a")
    Path(local.root, "d").mkdir()
    assert "is a directory" in refused(editor, local, command="str_replace", path="d", old_str="a")


def test_str_replace_new_str_defaults_to_deleting(local, editor):
    Path(local.root, "m.py").write_text(SOURCE)
    ok(editor, local, command="str_replace", path="m.py", old_str="\n\ndef g():\n    return 1\n")
    assert Path(local.root, "m.py").read_text() == "def f():\n    return 1\n"


def test_unicode_and_paths_with_spaces(local, editor):
    ok(editor, local, command="create", path="dir with space/naïve file.py", file_text="greeting = 'héllo wörld'\n")
    out = ok(editor, local, command="str_replace", path="dir with space/naïve file.py", old_str="héllo", new_str="👋 ☃")
    assert "     1\tgreeting = '👋 ☃ wörld'" in out
    raw = Path(local.root, "dir with space/naïve file.py").read_bytes()
    assert raw == "greeting = '👋 ☃ wörld'\n".encode()
    assert "naïve file.py" in ok(editor, local, command="view", path="dir with space")


# -- insert ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, new_str, expected",
    [
        (0, "top", "top\na\nb\nc\n"),
        (1, "x\ny", "a\nx\ny\nb\nc\n"),
        (3, "end\n", "a\nb\nc\nend\n"),
        (2, "", "a\nb\n\nc\n"),
    ],
)
def test_insert(local, editor, line, new_str, expected):
    Path(local.root, "f.txt").write_text("a\nb\nc\n")
    out = ok(editor, local, command="insert", path="f.txt", insert_line=line, new_str=new_str)
    assert Path(local.root, "f.txt").read_text() == expected
    assert out.startswith(f"The file {local.root}/f.txt has been edited.")
    rows = [(i, text) for i, text in enumerate(expected.split("\n")[:-1], 1)]
    assert numbered(*rows) in out  # a 3-line file: the snippet shows it all


def test_insert_snippet_is_around_the_insertion(local, editor):
    Path(local.root, "f.txt").write_text("".join(f"l{i}\n" for i in range(1, 31)))
    out = ok(editor, local, command="insert", path="f.txt", insert_line=15, new_str="NEW")
    body = out.split("\n")[1:-1]
    assert body == [f"{i:6}\tl{i}" for i in range(12, 16)] + ["    16\tNEW"] + [
        f"{i + 1:6}\tl{i}" for i in range(16, 20)
    ]


def test_insert_into_files_without_a_final_newline_and_empty_files(local, editor):
    Path(local.root, "open.txt").write_text("a\nb")
    ok(editor, local, command="insert", path="open.txt", insert_line=2, new_str="c")
    assert Path(local.root, "open.txt").read_text() == "a\nb\nc"
    ok(editor, local, command="insert", path="open.txt", insert_line=1, new_str="mid")
    assert Path(local.root, "open.txt").read_text() == "a\nmid\nb\nc"
    Path(local.root, "empty.txt").write_text("")
    ok(editor, local, command="insert", path="empty.txt", insert_line=0, new_str="first")
    assert Path(local.root, "empty.txt").read_text() == "first\n"


def test_insert_errors(local, editor):
    Path(local.root, "f.txt").write_text("a\nb\nc\n")
    out = refused(editor, local, command="insert", path="f.txt", insert_line=4, new_str="x")
    assert out == f"insert_line 4 is out of range: {local.root}/f.txt has 3 lines, so use 0 to 3."
    assert "out of range" in refused(editor, local, command="insert", path="f.txt", insert_line=-1, new_str="x")
    assert "needs new_str" in refused(editor, local, command="insert", path="f.txt", insert_line=1)
    assert "needs insert_line" in refused(editor, local, command="insert", path="f.txt", new_str="x")
    assert "does not exist" in refused(editor, local, command="insert", path="g.txt", insert_line=0, new_str="x")
    assert Path(local.root, "f.txt").read_text() == "a\nb\nc\n"


# -- line endings ----------------------------------------------------------------------
def test_crlf_files_keep_crlf(local, editor):
    path = Path(local.root, "win.txt")
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    out = ok(editor, local, command="view", path="win.txt")
    assert "\r" not in out and "     2\ttwo" in out
    ok(editor, local, command="str_replace", path="win.txt", old_str="one\ntwo", new_str="1\n2\n2.5")
    assert path.read_bytes() == b"1\r\n2\r\n2.5\r\nthree\r\n"
    ok(editor, local, command="insert", path="win.txt", insert_line=4, new_str="four\nfive")
    assert path.read_bytes() == b"1\r\n2\r\n2.5\r\nthree\r\nfour\r\nfive\r\n"


def test_lf_and_mixed_files_are_not_normalised(local, editor):
    path = Path(local.root, "mixed.txt")
    path.write_bytes(b"a\r\nb\nc\r\n")
    ok(editor, local, command="str_replace", path="mixed.txt", old_str="b", new_str="B")
    assert path.read_bytes() == b"a\r\nB\nc\r\n"
    ok(editor, local, command="insert", path="mixed.txt", insert_line=1, new_str="x")
    assert path.read_bytes() == b"a\r\nx\nB\nc\r\n"
    ok(editor, local, command="create", path="lf.txt", file_text="p\r\nq\n")  # create writes exactly what it is given
    assert Path(local.root, "lf.txt").read_bytes() == b"p\r\nq\n"


# -- undo ------------------------------------------------------------------------------
def test_undo_chain_back_to_before_create(local, editor):
    path = Path(local.root, "u.py")
    ok(editor, local, command="create", path="u.py", file_text="a = 1\n")
    ok(editor, local, command="str_replace", path="u.py", old_str="1", new_str="2")
    ok(editor, local, command="insert", path="u.py", insert_line=1, new_str="b = 3")
    assert path.read_text() == "a = 2\nb = 3\n"
    out = ok(editor, local, command="undo_edit", path="u.py")
    assert out == (
        f"Last edit to {local.root}/u.py undone successfully. Here's the result of running `cat -n` on it:\n"
        + numbered((1, "a = 2"))
    )
    assert path.read_text() == "a = 2\n"
    ok(editor, local, command="undo_edit", path="u.py")
    assert path.read_text() == "a = 1\n"
    out = ok(editor, local, command="undo_edit", path=f"{local.root}/u.py")  # same file, absolute path
    assert "it created the file, so the file was removed" in out
    assert not path.exists()
    out = refused(editor, local, command="undo_edit", path="u.py")
    assert out == f"No edit history for {local.root}/u.py: there is nothing to undo."


def test_undo_history_is_per_path_and_per_instance(local, editor):
    Path(local.root, "a.txt").write_text("a\n")
    Path(local.root, "b.txt").write_bytes(b"b\r\n\xc3\xa9\r\n")
    ok(editor, local, command="str_replace", path="a.txt", old_str="a", new_str="A")
    ok(editor, local, command="str_replace", path="b.txt", old_str="b", new_str="B")
    ok(editor, local, command="undo_edit", path="a.txt")
    assert (
        Path(local.root, "a.txt").read_text() == "a\n"
        and Path(local.root, "b.txt").read_bytes() == b"B\r\n\xc3\xa9\r\n"
    )
    fresh = EditorTool(workdir=local.root)  # the next episode's editor
    assert "No edit history" in refused(fresh, local, command="undo_edit", path="b.txt")
    ok(editor, local, command="undo_edit", path="./sub/../b.txt")
    assert Path(local.root, "b.txt").read_bytes() == b"b\r\n\xc3\xa9\r\n"  # bytes exactly as before
    failed = refused(editor, local, command="str_replace", path="a.txt", old_str="zzz", new_str="y")
    assert failed and "No edit history" in refused(editor, local, command="undo_edit", path="a.txt")


def test_undo_of_an_empty_file(local, editor):
    ok(editor, local, command="create", path="e.txt", file_text="")
    ok(editor, local, command="insert", path="e.txt", insert_line=0, new_str="x")
    assert ok(editor, local, command="undo_edit", path="e.txt").endswith("(the file is empty)")
    assert Path(local.root, "e.txt").read_text() == ""


# -- files the editor refuses ----------------------------------------------------------
def test_binary_non_utf8_and_large_files_are_refused(local):
    editor = EditorTool(workdir=local.root, max_file_bytes=1000)
    Path(local.root, "latin1.txt").write_bytes("café\n".encode("latin-1"))
    Path(local.root, "blob.bin").write_bytes(b"abc\x00def\n")
    Path(local.root, "big.txt").write_text("x" * 1001)
    for name in ("latin1.txt", "blob.bin"):
        out = refused(editor, local, command="view", path=name)
        assert out == f"{local.root}/{name} is not UTF-8 text (it looks binary); the editor works only on text files."
        assert "not UTF-8" in refused(editor, local, command="str_replace", path=name, old_str="a", new_str="b")
        assert "not UTF-8" in refused(editor, local, command="insert", path=name, insert_line=0, new_str="b")
    out = refused(editor, local, command="view", path="big.txt")
    assert "too large for the editor (1001 bytes; at most 1000)" in out and "bash" in out
    assert "too large" in refused(editor, local, command="str_replace", path="big.txt", old_str="x", new_str="y")
    assert Path(local.root, "big.txt").read_text() == "x" * 1001


def test_special_files_are_refused_without_reading_them(local, editor):
    os.mkfifo(Path(local.root, "pipe"))  # reading it would block forever
    out = refused(editor, local, command="view", path="pipe")
    assert out == f"{local.root}/pipe is not a regular file (it is a fifo)."


def test_symlinks_are_followed(local, editor):
    Path(local.root, "real.txt").write_text("hello\n")
    Path(local.root, "link.txt").symlink_to("real.txt")
    Path(local.root, "d").mkdir()
    Path(local.root, "d", "f.txt").write_text("x")
    Path(local.root, "dlink").symlink_to("d")
    assert "     1\thello" in ok(editor, local, command="view", path="link.txt")
    assert f"{local.root}/dlink/f.txt" in ok(editor, local, command="view", path="dlink")
    ok(editor, local, command="str_replace", path="link.txt", old_str="hello", new_str="bye")
    assert Path(local.root, "real.txt").read_text() == "bye\n"


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"command": "delete", "path": "a.txt"}, "Unknown command 'delete'"),
        ({"command": "view"}, "path must name"),
        ({"command": "view", "path": ""}, "path must name"),
        ({"command": "view", "path": "   "}, "path must name"),
        ({"command": "view", "path": "a\0b"}, "path must name"),
        ({"command": "view", "path": 7}, "path must name"),
        ({"command": "view", "path": "a.txt", "view_range": "1-2"}, "must be two integers"),
        ({"command": "insert", "path": "a.txt", "insert_line": "1", "new_str": "x"}, "needs insert_line"),
        ({"command": "insert", "path": "a.txt", "insert_line": True, "new_str": "x"}, "needs insert_line"),
        ({"command": "create", "path": "n.txt", "file_text": None}, "needs file_text"),
        ({"command": "str_replace", "path": "a.txt", "old_str": 3}, "needs old_str"),
        ({"command": "view", "path": "x" * 5000}, "File name too long"),
    ],
)
def test_bad_arguments_never_raise(local, editor, arguments, expected):
    Path(local.root, "a.txt").write_text("a\nb\n")
    res = editor(local, arguments)  # unchecked on purpose: the tool copes with anything
    assert res.error and expected in res.output


# -- the real sandbox ------------------------------------------------------------------
@pytest.mark.docker
def test_editor_in_a_real_sandbox(sandbox):
    work = sandbox.config.workdir
    editor = EditorTool(workdir=work)
    path = f"{work}/my pkg/módulo.py"
    assert ok(editor, sandbox, command="create", path="my pkg/módulo.py", file_text=SOURCE) == (
        f"File created successfully at: {path}"
    )
    assert sandbox.read_file(path).decode() == SOURCE
    assert sandbox.run("stat -c %u 'my pkg/módulo.py'").output.strip() == str(sandbox.config.uid)
    out = ok(editor, sandbox, command="view", path=path, view_range=[4, -1])
    assert out.split("\n", 1)[1] == numbered((4, ""), (5, "def g():"), (6, "    return 1"))
    assert "starting on lines 2, 6" in refused(editor, sandbox, command="str_replace", path=path, old_str="return 1")
    ok(
        editor,
        sandbox,
        command="str_replace",
        path=path,
        old_str="def g():\n    return 1",
        new_str="def g():\n    return 'ü'",
    )
    ok(editor, sandbox, command="insert", path=path, insert_line=0, new_str="# -*- coding: utf-8 -*-")
    assert (
        sandbox.run("python3 -c 'import sys; sys.path.insert(0, \"my pkg\"); import módulo; print(módulo.g())'").output
        == "ü\n"
    )
    assert "already exists" in refused(editor, sandbox, command="create", path=path, file_text="x")
    listing = ok(editor, sandbox, command="view", path=work)
    assert f"{work}/my pkg/\n{work}/my pkg/módulo.py" in listing
    ok(editor, sandbox, command="undo_edit", path=path)
    ok(editor, sandbox, command="undo_edit", path=path)
    assert sandbox.read_file(path).decode() == SOURCE
    assert "file was removed" in ok(editor, sandbox, command="undo_edit", path=path)
    assert sandbox.run("ls 'my pkg'").output == ""
    assert "No edit history" in refused(editor, sandbox, command="undo_edit", path=path)
    assert "does not exist" in refused(editor, sandbox, command="view", path="nope.py")


@pytest.mark.docker
def test_editor_refusals_in_a_real_sandbox(sandbox):
    work = sandbox.config.workdir
    editor = EditorTool(workdir=work, max_file_bytes=100_000)
    setup = (
        "mkdir locked ro && echo secret > locked/s.txt && chmod 000 locked && echo hi > ro/f.txt && chmod 555 ro && "
        "echo x > unreadable.txt && chmod 000 unreadable.txt && echo y > readonly.txt && chmod 444 readonly.txt && "
        "head -c 200000 /dev/zero | tr '\\0' a > big.txt && printf 'caf\\xe9\\n' > latin1.txt && mkfifo fifo"
    )
    assert sandbox.run(setup).ok
    assert refused(editor, sandbox, command="view", path="locked/s.txt") == (
        f"Cannot access {work}/locked/s.txt: Permission denied."
    )
    assert refused(editor, sandbox, command="view", path="unreadable.txt") == (
        f"Cannot read {work}/unreadable.txt: permission denied."
    )
    out = refused(editor, sandbox, command="str_replace", path="readonly.txt", old_str="y", new_str="z")
    assert out == f"Cannot write {work}/readonly.txt: permission denied."
    assert "nothing to undo" in refused(editor, sandbox, command="undo_edit", path="readonly.txt")
    assert "permission denied" in refused(editor, sandbox, command="create", path="ro/new.txt", file_text="x")
    assert "too large for the editor (200000 bytes" in refused(editor, sandbox, command="view", path="big.txt")
    assert "not UTF-8 text" in refused(editor, sandbox, command="view", path="latin1.txt")
    assert "not a regular file (it is a fifo)" in refused(editor, sandbox, command="view", path="fifo")
    assert "is a directory" in refused(editor, sandbox, command="str_replace", path="ro", old_str="a")
    assert "Not a directory" in refused(editor, sandbox, command="create", path="big.txt/x.py", file_text="x")
    assert sandbox.run("cat readonly.txt; ls ro").output == "y\nf.txt\n"
