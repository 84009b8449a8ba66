"""Per-episode variation in envs: renamed tools and arguments, apply_patch (unified diff and V4A blocks),
and the reset options the perturbation layer uses. Tools run on `LocalSandbox`; the real engine runs them in
tests/perturb."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from local_sandbox import LocalSandbox
from swefarm.envs.config import EnvConfig
from swefarm.envs.episode import EpisodeOptions
from swefarm.envs.formats import get_format
from swefarm.envs.models import ToolCall, ToolResult
from swefarm.envs.tools import make_tools, tool_interface
from swefarm.envs.tools.apply_patch import ApplyPatchTool
from swefarm.envs.tools.schema import check_arguments
from swefarm.envs.tools.v4a import PatchError, apply_update, parse

CODE = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/calc.py").write_text(CODE)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    return LocalSandbox(tmp_path)


# -- renamed tools ---------------------------------------------------------------------------


def test_make_tools_renames_reorders_and_redescribes_and_reports_the_interface():
    tools = make_tools(
        ["bash", "editor", "submit"],
        {"bash": "shell", "editor": "edit"},
        arguments={"editor": {"path": "file", "command": "action", "old_str": "find"}},
        descriptions={"submit": "All done."},
    )
    assert list(tools) == ["shell", "edit", "submit"]
    props = list(tools["edit"].spec["function"]["parameters"]["properties"])
    assert props[:3] == ["file", "action", "find"] and "new_str" in props
    assert tools["edit"].spec["function"]["parameters"]["required"] == ["action", "file"]
    assert tools["submit"].spec["function"]["description"] == "All done."
    interface = tool_interface(tools)
    assert interface["edit"]["kind"] == "editor" and interface["edit"]["arguments"]["old_str"] == "find"
    assert interface["shell"] == {"kind": "bash", "arguments": {"command": "command", "timeout": "timeout"}}


def test_a_renamed_tool_takes_the_new_names_and_rewords_its_refusals(repo):
    tools = make_tools(["editor"], arguments={"editor": {"old_str": "old_string", "path": "file"}}, workdir=repo.root)
    editor = tools["str_replace_editor"]
    assert check_arguments(editor.spec, {"command": "view", "path": "pkg/calc.py"}) == (
        "str_replace_editor needs the argument(s) file"
    )
    out = editor(repo, {"command": "str_replace", "file": "pkg/calc.py", "old_string": "a - b", "new_str": "a + b"})
    assert not out.error and "a + b" in (repo.read_file("pkg/calc.py")).decode()
    refusal = editor(repo, {"command": "str_replace", "file": "pkg/calc.py", "new_str": "x"})
    assert refusal.error and "needs old_string" in refusal.output and "old_str," not in refusal.output


@pytest.mark.parametrize(
    "arguments, message",
    [({"bash": {"cmd": "x"}}, "has no argument"), ({"bash": {"command": "timeout"}}, "two the same name")],
)
def test_bad_renames_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        make_tools(["bash"], arguments=arguments)
    with pytest.raises(ValueError, match="unknown tool kind"):
        make_tools(["bash"], descriptions={"shell": "x"})


def test_the_bash_format_writes_and_reads_a_renamed_command_argument():
    fmt = get_format("bash", bash_tool="sh", submit_tool="done", command_argument="cmd")
    made = make_tools(["bash", "submit"], {"bash": "sh", "submit": "done"}, {"bash": {"command": "cmd"}})
    tools = list(made.values())
    text = fmt.render([ToolCall("sh", {"cmd": "ls -la"})])
    assert fmt.parse(text, [t.spec for t in tools]) == [ToolCall("sh", {"cmd": "ls -la"})]
    assert fmt.parse("```bash\nsubmit\n```", [t.spec for t in tools]) == [ToolCall("done", {})]


# -- apply_patch ---------------------------------------------------------------------------------

DIFF = """diff --git a/pkg/calc.py b/pkg/calc.py
--- a/pkg/calc.py
+++ b/pkg/calc.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a - b
+    return a + b
\x20
"""


def test_apply_patch_applies_a_unified_diff_with_or_without_prefixes_and_wrong_counts(repo):
    tool = ApplyPatchTool(workdir=repo.root)
    out = tool(repo, {"patch": DIFF})
    assert not out.error and out.exit_code == 0 and "calc.py" in out.output
    assert "a + b" in repo.read_file("pkg/calc.py").decode()
    undo = DIFF.replace("-    return a - b\n+    return a + b", "-    return a + b\n+    return a - b")
    unprefixed = undo.replace("a/pkg", "pkg").replace("b/pkg", "pkg").replace("@@ -1,3 +1,3 @@", "@@ -1,9 +1,7 @@")
    out = tool(repo, {"patch": unprefixed.rstrip("\n")})
    assert not out.error, out.output
    assert repo.read_file("pkg/calc.py").decode() == CODE


def test_apply_patch_that_does_not_fit_changes_nothing_and_says_why(repo):
    out = ApplyPatchTool(workdir=repo.root)(repo, {"patch": DIFF.replace("a - b", "a / b")})
    assert out.error and "not applied" in out.output and "patch failed" in out.output
    assert repo.read_file("pkg/calc.py").decode() == CODE


def test_apply_patch_blocks_update_add_delete_and_move(repo):
    Path(repo.root, "old.txt").write_text("bye\n")
    block = (
        "*** Begin Patch\n*** Update File: pkg/calc.py\n*** Move to: pkg/arith.py\n"
        "@@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
        "@@ def mul(a, b):\n-    return a * b\n+    return b * a\n"
        "*** Add File: pkg/notes.txt\n+hello\n+world\n*** Delete File: old.txt\n*** End Patch"
    )
    out = ApplyPatchTool(workdir=repo.root)(repo, {"patch": block})
    assert not out.error, out.output
    text = repo.read_file("pkg/arith.py").decode()
    assert "return b * a" in text and "return a + b" in text
    assert repo.read_file("pkg/notes.txt").decode() == "hello\nworld\n"
    with pytest.raises(FileNotFoundError):
        repo.read_file("pkg/calc.py")
    with pytest.raises(FileNotFoundError):
        repo.read_file("old.txt")


def test_apply_patch_block_chunks_go_in_file_order_and_a_misfit_changes_nothing(repo):
    block = (
        "*** Begin Patch\n*** Add File: pkg/new.py\n+x = 1\n*** Update File: pkg/calc.py\n"
        "@@ def mul(a, b):\n-    return a * b\n+    return b * a\n@@\n def add(a, b):\n-    return a - b\n"
        "+    return a + b\n*** End Patch"
    )
    out = ApplyPatchTool(workdir=repo.root)(repo, {"patch": block})
    assert out.error and "chunk 2" in out.output and "after the previous chunk" in out.output
    assert repo.read_file("pkg/calc.py").decode() == CODE
    with pytest.raises(FileNotFoundError):
        repo.read_file("pkg/new.py")


def test_v4a_update_finds_chunks_in_order_with_whitespace_fuzz():
    op = parse("*** Begin Patch\n*** Update File: f.py\n@@\n-    return a - b  \n+    return a + b\n*** End Patch")[0]
    assert apply_update(CODE, op) == CODE.replace("a - b", "a + b")
    missing = parse("*** Begin Patch\n*** Update File: f.py\n@@\n-nothing like this\n+x\n*** End Patch")[0]
    with pytest.raises(PatchError, match="were not found"):
        apply_update(CODE, missing)


@pytest.mark.parametrize(
    "block, message",
    [
        ("*** Update File: f.py\n@@\n-a\n+b", "starts with '\\*\\*\\* Begin Patch'"),
        ("*** Begin Patch\n*** End Patch", "changes no file"),
        ("*** Begin Patch\n*** Add File: x\nno plus\n*** End Patch", "starts with '\\+'"),
        ("*** Begin Patch\nhello\n*** End Patch", "expected"),
        ("*** Begin Patch\n*** Update File: f.py\n*** End Patch", "has no change"),
    ],
)
def test_v4a_malformed_blocks_are_explained(block, message):
    with pytest.raises(PatchError, match=message):
        parse(block)


# -- reset options ---------------------------------------------------------------------------------


def test_episode_options_override_config_for_one_episode_and_chain_hooks():
    base = EnvConfig()
    order = []

    def outer(call, run):
        order.append("outer")
        result = run()
        return ToolResult(output=result.output + "+outer")

    def inner(call, run):
        order.append("inner")
        return ToolResult(output="inner")

    episode = EpisodeOptions.parse(
        {
            "config": {"tool_format": "minimax"},
            "issue": [str.upper, lambda t: t + "!"],
            "tool_middleware": [outer, inner],
        },
        base,
    )
    assert episode.config.tool_format == "minimax" and base.tool_format == "hermes"
    assert episode.problem_statement("bug") == "BUG!"
    assert episode.call(ToolCall("x"), lambda: ToolResult(output="never")).output == "inner+outer"
    assert order == ["outer", "inner"]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"confg": {}}, "unknown reset option"),
        ({"config": {"pool_size": 3}}, "cannot change per episode"),
        ({"config": {"tool_format": "xml"}}, "unknown tool format"),
        ({"issue": ["not a function"]}, "list of functions"),
        ({"perturbation": ["x"]}, "list of dicts"),
    ],
)
def test_bad_episode_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        EpisodeOptions.parse(options, EnvConfig())
